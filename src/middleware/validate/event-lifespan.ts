/**
 * The lifespan protocol (docs/spec.md §12): startup, then shutdown, each answered once by the app.
 */
import type { Message, Session } from './session.js';
import { show, type Report } from './violation.js';

type Phase = 'idle' | 'starting' | 'started' | 'startup-failed' | 'stopping' | 'stopped';

export class LifespanSession implements Session {
  private phase: Phase = 'idle';

  constructor(private readonly report: Report) {}

  received(message: Message): void {
    const fail = (rule: string, problem: string, fix: string) => this.report(rule, '§12', 'server', problem, fix);
    const type = message.type;
    if (type === 'lifespan.startup') {
      if (this.phase !== 'idle') throw fail(
        'receive.order',
        'receive() yielded lifespan.startup a second time',
        'yield it once, before the server listens',
      );
      this.phase = 'starting';
      return;
    }
    if (type === 'lifespan.shutdown') {
      if (this.phase !== 'started') {
        throw fail(
          'receive.order',
          `receive() yielded lifespan.shutdown ${this.phase === 'stopping' || this.phase === 'stopped' ? 'a second time' : 'before the app completed startup'}`,
          'yield lifespan.shutdown once, after the app answered lifespan.startup.complete',
        );
      }
      this.phase = 'stopping';
      return;
    }
    throw fail(
      'receive.type',
      `receive() yielded a ${show(type)} message on the lifespan scope`,
      'yield lifespan.startup, then lifespan.shutdown',
    );
  }

  sending(message: Message): Message {
    const fail = (rule: string, problem: string, fix: string) => this.report(rule, '§12', 'app', problem, fix);
    const type = message.type;
    const startup = type === 'lifespan.startup.complete' || type === 'lifespan.startup.failed';
    const shutdown = type === 'lifespan.shutdown.complete' || type === 'lifespan.shutdown.failed';
    if (!startup && !shutdown) {
      throw fail(
        'send.type',
        `send() got a ${show(type)} message on the lifespan scope`,
        'send lifespan.startup.complete/.failed or lifespan.shutdown.complete/.failed',
      );
    }
    if (startup && this.phase !== 'starting') {
      throw fail(
        'lifespan.startup-reply',
        `${type} was sent ${this.phase === 'idle' ? 'before lifespan.startup was received' : 'a second time'}`,
        'answer once, after receive() yielded lifespan.startup',
      );
    }
    if (shutdown && this.phase !== 'stopping') {
      throw fail(
        'lifespan.shutdown-reply',
        `${type} was sent ${this.phase === 'stopped' ? 'a second time' : 'before lifespan.shutdown was received'}`,
        'answer once, after receive() yielded lifespan.shutdown',
      );
    }
    if (type.endsWith('.failed') && message.message !== undefined && typeof message.message !== 'string') {
      throw fail('lifespan.message', `${type} has the message ${show(message.message)}, not a string`, 'say what went wrong as a string');
    }
    this.phase = type === 'lifespan.startup.complete' ? 'started' : type === 'lifespan.startup.failed' ? 'startup-failed' : 'stopped';
    return message;
  }

  sendFailed(): void {}

  /** An app may return from the lifespan scope at any time (one that does not speak it, §12). */
  returned(): void {}
}
