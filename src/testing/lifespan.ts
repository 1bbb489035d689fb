/**
 * The lifespan protocol (docs/spec.md §12) around a TestClient: `start()` sends
 * `lifespan.startup` and waits for the app's answer, `close()` sends `lifespan.shutdown`. The
 * modes are the server's: `auto` goes on without lifespan when the app raises (or returns) before
 * answering startup, `on` treats that as a failed startup, `off` never calls the app for it.
 */
import { LifespanError } from '../event/lifespan.js';
import { LIFESPAN_ASGI } from '../event/scope.js';
import { callEventApp, messageType, ProtocolError, type AppCallOutcome } from '../event/runtime.js';
import type { EventApp, LifespanScope, ReceiveMessage, SendMessage } from '../spec/event-types.js';
import { checkedCall, type CheckedCall } from './contract.js';
import { describeFault, type ClientContext } from './context.js';
import type { LifespanChoice } from './options.js';

export { LifespanError };

type Phase = 'idle' | 'starting' | 'started' | 'stopping' | 'stopped' | 'unsupported';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class LifespanRunner implements AppCallOutcome {
  /** Filled by the app during startup; each scope gets a shallow copy. */
  readonly state: Record<string, unknown> = {};
  private phase: Phase = 'idle';
  private appDone = false;
  private inbox: ReceiveMessage[] = [];
  private receiver: ((message: ReceiveMessage) => void) | null = null;
  private waiter: Waiter | null = null;
  private call: CheckedCall<EventApp> | null = null;

  constructor(
    private readonly context: ClientContext,
    private readonly app: EventApp,
    private readonly mode: LifespanChoice,
  ) {}

  get running(): boolean {
    return this.phase === 'started';
  }

  async startup(): Promise<void> {
    if (this.phase !== 'idle') {
      throw new Error(`start() was already called (lifespan is ${this.phase}); create a new TestClient to start again`);
    }
    if (this.mode === 'off') {
      this.phase = 'unsupported';
      return;
    }
    this.phase = 'starting';
    const call = checkedCall(this.app, this.context.options.validate, (violation) => this.context.recordViolation(violation));
    this.call = call;
    const scope: LifespanScope = { type: 'lifespan', asgi: LIFESPAN_ASGI, state: this.state };
    const outcome = this.await({ type: 'lifespan.startup' });
    callEventApp(call.app, scope, this.receive, this.send, this);
    try {
      await outcome;
    } catch (error) {
      this.phase = 'stopped';
      throw error;
    }
    const violation = call.violations[0];
    if (violation !== undefined) {
      this.phase = 'stopped';
      throw violation;
    }
    if (this.phase === 'starting') this.phase = 'started';
  }

  async shutdown(): Promise<void> {
    if (this.phase !== 'started' || this.appDone) {
      if (this.phase !== 'unsupported') this.phase = 'stopped';
      return;
    }
    this.phase = 'stopping';
    try {
      await this.await({ type: 'lifespan.shutdown' });
    } finally {
      this.phase = 'stopped';
    }
    const violation = this.call?.violations[0];
    if (violation !== undefined) throw violation;
  }

  // --- the app's side ---------------------------------------------------------------------------------

  private readonly receive = (): Promise<ReceiveMessage> => {
    const next = this.inbox.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => {
      this.receiver = resolve;
    });
  };

  private readonly send = (message: SendMessage): Promise<void> => {
    try {
      const type = messageType(message, 'send');
      const { message: text } = message as { message?: unknown };
      const detail = typeof text === 'string' && text !== '' ? text : 'the app gave no message';
      if (type === 'lifespan.startup.complete' || type === 'lifespan.startup.failed') {
        if (this.phase !== 'starting') throw new ProtocolError(`${type} was sent, but startup is not in progress (it is ${this.phase})`);
        if (type === 'lifespan.startup.complete') this.settle(null);
        else this.settle(new LifespanError(`lifespan startup failed: ${detail}`));
        return Promise.resolve();
      }
      if (type === 'lifespan.shutdown.complete' || type === 'lifespan.shutdown.failed') {
        if (this.phase !== 'stopping') throw new ProtocolError(`${type} was sent, but shutdown is not in progress (it is ${this.phase})`);
        if (type === 'lifespan.shutdown.complete') this.settle(null);
        else this.settle(new LifespanError(`lifespan shutdown failed: ${detail}`));
        return Promise.resolve();
      }
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on the lifespan scope; expected ` +
          `lifespan.startup.complete/.failed or lifespan.shutdown.complete/.failed`,
      );
    } catch (error) {
      if (error instanceof ProtocolError) this.context.log(`lifespan: ${error.message}`);
      return Promise.reject(error);
    }
  };

  appReturned(): void {
    this.appDone = true;
    if (this.phase === 'starting') {
      if (this.mode === 'on') {
        this.settle(new LifespanError('lifespan startup failed: the app returned from the lifespan scope without answering lifespan.startup'));
      } else {
        this.phase = 'unsupported';
        this.settle(null);
      }
    } else if (this.phase === 'stopping') {
      this.settle(null);
    }
  }

  appFailed(error: unknown): void {
    if (this.appDone) return;
    this.appDone = true;
    if (this.phase === 'starting') {
      if (this.mode === 'auto') {
        // An app written for http only typically raises on a scope type it does not know.
        this.context.log(`lifespan: the app does not support the lifespan protocol (it raised: ${error instanceof Error ? error.message : String(error)}); going on without it`);
        this.phase = 'unsupported';
        this.settle(null);
      } else {
        this.settle(error);
      }
    } else if (this.phase === 'stopping') {
      this.settle(error);
    } else {
      this.context.log(describeFault('lifespan', "the app's lifespan task raised while the client was running", error));
    }
  }

  // --- plumbing --------------------------------------------------------------------------------------

  private await(message: ReceiveMessage): Promise<void> {
    const outcome = new Promise<void>((resolve, reject) => {
      this.waiter = { resolve, reject };
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

  /** Ends the startup or shutdown being waited for: null for success, else the error to throw. */
  private settle(error: unknown): void {
    const waiter = this.waiter;
    this.waiter = null;
    if (waiter === null) return;
    if (error === null) waiter.resolve();
    else waiter.reject(error);
  }
}
