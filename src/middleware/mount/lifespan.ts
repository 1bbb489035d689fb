/**
 * Lifespan for a mount of several event apps: each gets the startup and shutdown events, in its
 * own channel, and the mount answers the server once all have answered. They share one `state`
 * object (the scope's), so what each puts there at startup reaches every connection's scope.
 * An app that raises before answering startup is one that does not speak lifespan (the server's
 * `--lifespan auto` rule, per app); if none of them does, the mount raises the first error so the
 * server applies its own rule.
 */
import type { EventApp, LifespanScope, Receive, ReceiveMessage, Send, SendMessage } from '../../spec/event-types.js';

type Answer = { kind: 'answered'; message: SendMessage } | { kind: 'unsupported'; error: unknown };

/** One app's side of the fan-out: its receive queue and its answers. */
class LifespanChild {
  private inbox: ReceiveMessage[] = [];
  private waiting: ((message: ReceiveMessage) => void) | null = null;
  private answer: ((answer: Answer) => void) | null = null;
  private returned: unknown = undefined;
  private done = false;

  constructor(app: EventApp, scope: LifespanScope) {
    app(scope, this.receive, this.send).then(
      () => this.finish(new Error('returned without answering the lifespan event')),
      (error: unknown) => this.finish(error),
    );
  }

  /** Hands `message` to the app and resolves with its answer. */
  deliver(message: ReceiveMessage): Promise<Answer> {
    return new Promise((resolve) => {
      if (this.done) {
        resolve({ kind: 'unsupported', error: this.returned });
        return;
      }
      this.answer = resolve;
      const waiting = this.waiting;
      this.waiting = null;
      if (waiting !== null) waiting(message);
      else this.inbox.push(message);
    });
  }

  private readonly receive: Receive = () => {
    const next = this.inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  };

  private readonly send: Send = async (message) => {
    const answer = this.answer;
    if (answer === null) throw new TypeError(`lifespan: ${JSON.stringify(message?.type)} was sent with no lifespan event to answer`);
    this.answer = null;
    answer({ kind: 'answered', message });
  };

  private finish(outcome: unknown): void {
    this.done = true;
    this.returned = outcome;
    const answer = this.answer;
    this.answer = null;
    answer?.({ kind: 'unsupported', error: outcome });
  }
}

function failures(answers: Answer[], failedType: string): string[] {
  const messages: string[] = [];
  for (const answer of answers) {
    if (answer.kind === 'answered' && answer.message.type === failedType) {
      messages.push((answer.message as { message?: string }).message ?? 'failed');
    }
  }
  return messages;
}

export async function fanOutLifespan(apps: readonly EventApp[], scope: LifespanScope, receive: Receive, send: Send): Promise<void> {
  if (apps.length === 1) return apps[0]!(scope, receive, send);
  const startup = await receive();
  if (apps.length === 0) {
    await send({ type: 'lifespan.startup.complete' });
    await receive();
    await send({ type: 'lifespan.shutdown.complete' });
    return;
  }
  const children = apps.map((app) => new LifespanChild(app, scope));
  const started = await Promise.all(children.map((child) => child.deliver(startup)));
  const speaking = children.filter((_, index) => started[index]!.kind === 'answered');
  if (speaking.length === 0) {
    throw (started[0] as { error: unknown }).error;
  }
  const startupFailures = failures(started, 'lifespan.startup.failed');
  if (startupFailures.length > 0) {
    await send({ type: 'lifespan.startup.failed', message: startupFailures.join('; ') });
    return;
  }
  await send({ type: 'lifespan.startup.complete' });
  const shutdown = await receive();
  const stopped = await Promise.all(speaking.map((child) => child.deliver(shutdown)));
  const shutdownFailures = failures(stopped, 'lifespan.shutdown.failed');
  for (const answer of stopped) {
    if (answer.kind === 'unsupported') shutdownFailures.push(String((answer.error as Error)?.message ?? answer.error));
  }
  if (shutdownFailures.length > 0) await send({ type: 'lifespan.shutdown.failed', message: shutdownFailures.join('; ') });
  else await send({ type: 'lifespan.shutdown.complete' });
}
