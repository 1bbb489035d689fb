/**
 * The lifespan protocol (docs/spec.md §12): one long-running `app({type: 'lifespan'}, …)` call
 * that hears `lifespan.startup` before the server listens and `lifespan.shutdown` after it
 * stopped, and answers each with `.complete` or `.failed`.
 *
 * Modes: `on` requires the app to speak it; `off` never calls it; `auto` calls it and carries on
 * without it when the app raises before answering startup (an app that only knows http).
 */
import type { LifespanMode } from '../server/config.js';
import type { Logger } from '../server/logger.js';
import type { EventApp, LifespanScope, ReceiveMessage, SendMessage } from '../spec/event-types.js';
import { stackOf } from '../core/response-head.js';
import { callEventApp, messageType, ProtocolError, type AppCallOutcome } from './runtime.js';
import { LIFESPAN_ASGI } from './scope.js';

/** Startup or shutdown failed; the message is the app's own when it gave one. */
export class LifespanError extends Error {
  override name = 'LifespanError';
}

type Phase = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' | 'unsupported';

interface Outcome {
  ok: boolean;
  message: string;
}

export class Lifespan implements AppCallOutcome {
  /** Filled by the app during startup; every connection scope gets a shallow copy. */
  readonly state: Record<string, unknown> = {};
  private phase: Phase = 'idle';
  private appDone = false;
  private inbox: ReceiveMessage[] = [];
  private receiver: ((message: ReceiveMessage) => void) | null = null;
  /** Settles the startup or shutdown currently waited for. */
  private settle: ((outcome: Outcome) => void) | null = null;

  constructor(
    private readonly app: EventApp,
    private readonly mode: LifespanMode,
    private readonly logger: Logger,
  ) {}

  /** Resolves once the app answered `lifespan.startup.complete`; rejects with LifespanError. */
  async startup(): Promise<void> {
    if (this.mode === 'off') return;
    this.phase = 'starting';
    const scope: LifespanScope = { type: 'lifespan', asgi: LIFESPAN_ASGI, state: this.state };
    const outcome = this.await({ type: 'lifespan.startup' });
    callEventApp(this.app, scope, () => this.receive(), (message) => this.send(message), this);
    const result = await outcome;
    if (!result.ok) {
      this.phase = 'stopped';
      throw new LifespanError(`lifespan startup failed: ${result.message}`);
    }
    if (this.phase === 'starting') this.phase = 'started';
  }

  /** Runs the app's shutdown, if it took part in startup; rejects with LifespanError on failure. */
  async shutdown(): Promise<void> {
    if (this.phase !== 'started' || this.appDone) {
      this.phase = this.phase === 'unsupported' ? 'unsupported' : 'stopped';
      return;
    }
    this.phase = 'stopping';
    const result = await this.await({ type: 'lifespan.shutdown' });
    this.phase = 'stopped';
    if (!result.ok) throw new LifespanError(`lifespan shutdown failed: ${result.message}`);
  }

  // --- the app's side -------------------------------------------------------------------------

  private receive(): Promise<ReceiveMessage> {
    const next = this.inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => {
      this.receiver = resolve;
    });
  }

  private send(message: SendMessage): Promise<void> {
    try {
      const type = messageType(message, 'send');
      const { message: text } = message as { message?: unknown };
      const detail = typeof text === 'string' && text !== '' ? text : 'the app gave no message';
      if (type === 'lifespan.startup.complete' || type === 'lifespan.startup.failed') {
        if (this.phase !== 'starting') throw new ProtocolError(`${type} was sent, but startup is not in progress (it is ${this.phase})`);
        this.resolve({ ok: type === 'lifespan.startup.complete', message: detail });
        return Promise.resolve();
      }
      if (type === 'lifespan.shutdown.complete' || type === 'lifespan.shutdown.failed') {
        if (this.phase !== 'stopping') throw new ProtocolError(`${type} was sent, but shutdown is not in progress (it is ${this.phase})`);
        this.resolve({ ok: type === 'lifespan.shutdown.complete', message: detail });
        return Promise.resolve();
      }
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on the lifespan scope; expected ` +
          `lifespan.startup.complete/.failed or lifespan.shutdown.complete/.failed`,
      );
    } catch (error) {
      this.logger.log('error', `lifespan: ${(error as Error).message}`);
      return Promise.reject(error);
    }
  }

  appReturned(): void {
    this.appDone = true;
    if (this.phase === 'starting') {
      if (this.mode === 'on') {
        this.resolve({ ok: false, message: 'the app returned from the lifespan scope without answering lifespan.startup' });
      } else {
        this.logger.log('warning', 'the app returned from the lifespan scope without answering lifespan.startup; serving without lifespan');
        this.phase = 'unsupported';
        this.resolve({ ok: true, message: '' });
      }
    } else if (this.phase === 'stopping') {
      this.resolve({ ok: true, message: '' });
    }
  }

  appFailed(error: unknown): void {
    if (this.appDone) return;
    this.appDone = true;
    const message = error instanceof Error ? error.message : String(error);
    if (this.phase === 'starting') {
      if (this.mode === 'auto') {
        // An app written for http only typically raises on an unknown scope type.
        this.logger.log('info', `the app does not support the lifespan protocol (it raised: ${message}); serving without it`);
        this.phase = 'unsupported';
        this.resolve({ ok: true, message: '' });
      } else {
        this.logger.log('error', `lifespan: the app raised during startup:\n${stackOf(error)}`);
        this.resolve({ ok: false, message });
      }
    } else if (this.phase === 'stopping') {
      this.logger.log('error', `lifespan: the app raised during shutdown:\n${stackOf(error)}`);
      this.resolve({ ok: false, message });
    } else {
      this.logger.log('error', `lifespan: the app's lifespan task raised while the server was running:\n${stackOf(error)}`);
    }
  }

  // --- plumbing -------------------------------------------------------------------------------

  private await(message: ReceiveMessage): Promise<Outcome> {
    const outcome = new Promise<Outcome>((resolve) => {
      this.settle = resolve;
    });
    const receiver = this.receiver;
    if (receiver !== null) {
      this.receiver = null;
      receiver(message);
    } else {
      this.inbox.push(message);
    }
    return outcome;
  }

  private resolve(outcome: Outcome): void {
    const settle = this.settle;
    this.settle = null;
    settle?.(outcome);
  }
}
