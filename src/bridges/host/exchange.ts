/**
 * One request of a hosted tsgi app (toNodeHandler, toFetch): `receive()` and `send()` with the
 * meaning they have on the tsgi server (docs/spec.md §10), over whatever the host offers. This
 * class owns the protocol — message order, Content-Length, HEAD/204/304, faults, disconnects —
 * and a subclass owns the host: reading the body, and writing a whole or a streamed response.
 */
import { callEventApp, DisconnectedError, messageType, ProtocolError, type AppCallOutcome } from '../../event/runtime.js';
import type { EventApp, HttpScope, ReceiveMessage, SendMessage } from '../../spec/event-types.js';
import type { HeaderPair } from '../../spec/types.js';
import { bodyBytes, checkStart, checkTrailers, isBodilessStatus, type CheckedStart } from './response.js';
import type { HostReport } from './report.js';

const EMPTY = new Uint8Array(0);
export const DISCONNECT: ReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as ReceiveMessage;
export const LAST_EMPTY: ReceiveMessage = Object.freeze({ type: 'http.request', body: EMPTY, more_body: false }) as ReceiveMessage;
const DONE = Promise.resolve();

const enum Phase {
  /** No `http.response.start` yet. */
  NotStarted,
  /** Start received; nothing handed to the host yet (it goes with the first body message). */
  Started,
  /** The host has the head and is streaming the body. */
  Streaming,
  /** The last body message was sent; trailers are due. */
  BodyDone,
  /** The response is with the host in full, or was answered or aborted for the app. */
  Complete,
}

type BodyMessage = { body?: unknown; more_body?: unknown };

export abstract class HostExchange implements AppCallOutcome {
  private phase = Phase.NotStarted;
  private start: CheckedStart | null = null;
  /** HEAD, 204, 205, 304: the body is discarded. */
  private discardBody = false;
  /** Body bytes sent (or, when discarded, counted: HEAD announces them). */
  private bodyLength = 0;
  private trailers: HeaderPair[] = [];
  /** The request body was delivered to its last message. */
  private bodyDelivered = false;
  /** receive() calls for the body run one after another. */
  private bodyQueue: Promise<unknown> = DONE;
  private disconnectWaiters: Array<(message: ReceiveMessage) => void> = [];
  /** The misuse send() already reported; the app may rethrow it. */
  private reported: unknown = null;
  /** The client left before the response was complete. */
  protected clientGone = false;
  /** The response is complete on the host's side (or was answered or aborted for the app). */
  protected responseOver = false;

  readonly receive = (): Promise<ReceiveMessage> => this.onReceive();
  readonly send = (message: SendMessage): Promise<void> => this.onSend(message);

  constructor(
    readonly scope: HttpScope,
    private readonly report: HostReport,
    /** Why this connection cannot carry trailers, or null when it can. */
    private readonly trailersRefusal: string | null,
  ) {}

  run(app: EventApp): void {
    callEventApp(app, this.scope, this.receive, this.send, this);
  }

  // --- what the host does -----------------------------------------------------------------------

  /** The next `http.request` message (one chunk), or http.disconnect when the client left mid-body. */
  protected abstract readBody(): Promise<ReceiveMessage>;
  /** The whole response at once; `body` null for a response without content (HEAD, 204, …). */
  protected abstract respond(start: CheckedStart, body: Uint8Array | null, headLength: number | null): void;
  /** The head of a streamed response. */
  protected abstract openStream(start: CheckedStart): void;
  /** A body chunk; resolves when the host has room for more, rejects when the client left. */
  protected abstract writeStream(bytes: Uint8Array): Promise<void>;
  /** The end of a streamed response, with its last bytes and the trailers (if asked for). */
  protected abstract closeStream(last: Uint8Array, trailers: HeaderPair[] | null): void;
  /** 500, as nothing of the app's response reached the host. */
  protected abstract answerServerError(): void;
  /** Cuts a response already under way, so the client cannot take it for a whole one. */
  protected abstract abortResponse(reason: Error): void;

  // --- what the host reports --------------------------------------------------------------------

  /** The response is complete: receive() now yields http.disconnect. */
  protected completed(): void {
    if (this.responseOver) return;
    this.responseOver = true;
    this.releaseWaiters();
  }

  /** The client went away before the response was complete. */
  protected clientLeft(): void {
    if (this.clientGone || this.responseOver) return;
    this.clientGone = true;
    this.releaseWaiters();
  }

  protected disconnected(what: string): DisconnectedError {
    return new DisconnectedError(
      `${what} cannot be sent: the client closed the connection (receive() now returns http.disconnect); stop ` +
        `producing this response`,
    );
  }

  // --- receive() --------------------------------------------------------------------------------

  private onReceive(): Promise<ReceiveMessage> {
    if (this.clientGone || this.responseOver) return Promise.resolve(DISCONNECT);
    if (this.bodyDelivered) return new Promise((resolve) => this.disconnectWaiters.push(resolve));
    const next = this.bodyQueue.then(() => this.nextBodyMessage());
    this.bodyQueue = next.catch(() => {});
    return next;
  }

  private async nextBodyMessage(): Promise<ReceiveMessage> {
    if (this.clientGone || this.responseOver) return DISCONNECT;
    if (this.bodyDelivered) return new Promise((resolve) => this.disconnectWaiters.push(resolve));
    const message = await this.readBody();
    if (message.type === 'http.request' && !message.more_body) this.bodyDelivered = true;
    return message;
  }

  private releaseWaiters(): void {
    const waiters = this.disconnectWaiters;
    this.disconnectWaiters = [];
    for (const resolve of waiters) resolve(DISCONNECT);
  }

  // --- send() -----------------------------------------------------------------------------------

  private onSend(message: SendMessage): Promise<void> {
    try {
      const type = messageType(message, 'send');
      if (type === 'http.response.body') return this.onBody(message as BodyMessage);
      if (type === 'http.response.start') {
        this.onStart(message as { status?: unknown; headers?: unknown; trailers?: unknown });
        return DONE;
      }
      if (type === 'http.response.trailers') {
        this.onTrailers(message as { headers?: unknown; more_trailers?: unknown });
        return DONE;
      }
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on an http connection; expected ` +
          `http.response.start, http.response.body or http.response.trailers`,
      );
    } catch (error) {
      if (error instanceof ProtocolError) {
        // Reported where it happened, in case the app swallows it.
        this.reported = error;
        this.report.requestFault(error, this.scope, 'protocol misuse');
      }
      return Promise.reject(error);
    }
  }

  private onStart(message: { status?: unknown; headers?: unknown; trailers?: unknown }): void {
    if (this.phase !== Phase.NotStarted) {
      if (this.clientGone) throw this.disconnected('http.response.start');
      throw new ProtocolError('http.response.start was sent twice; send it once, then http.response.body');
    }
    const start = checkStart(message, this.trailersRefusal);
    if (this.clientGone) throw this.disconnected('http.response.start');
    this.start = start;
    this.discardBody = this.scope.method === 'HEAD' || isBodilessStatus(start.status);
    this.phase = Phase.Started;
  }

  private onBody(message: BodyMessage): Promise<void> {
    const phase = this.phase;
    if (phase === Phase.NotStarted) {
      throw new ProtocolError('http.response.body was sent before http.response.start; send the status and headers first');
    }
    if (this.clientGone) throw this.disconnected('http.response.body');
    if (phase === Phase.BodyDone || phase === Phase.Complete) {
      throw new ProtocolError('http.response.body was sent after the last body message (more_body was false); the response is over');
    }
    const bytes = bodyBytes(message.body);
    const more = message.more_body === true;
    const start = this.start!;
    // The phase moves after the host took each step: a host that throws (a head it refuses)
    // leaves nothing sent, so the fault still gets its 500.
    if (this.discardBody) {
      this.bodyLength += bytes.byteLength;
      if (!more) {
        this.respond(start, null, this.scope.method === 'HEAD' ? this.bodyLength : null);
        this.phase = Phase.Complete;
      }
      return DONE;
    }
    const total = this.bodyLength + bytes.byteLength;
    const declared = start.declaredLength;
    if (declared !== -1 && total > declared) {
      // Never more than announced: the excess would be read as the next response.
      throw new ProtocolError(
        `http.response.body would take the body to ${total} bytes, past the Content-Length of ${declared} ` +
          `given in http.response.start; fix the header or the body`,
      );
    }
    if (!more && declared !== -1 && total < declared) return this.endedShort(total, declared);
    this.bodyLength = total;
    if (phase === Phase.Started && !more && !start.trailers) {
      // The whole body in one message: the host gets it whole and knows its length.
      this.respond(start, bytes, null);
      this.phase = Phase.Complete;
      return DONE;
    }
    if (phase === Phase.Started) {
      this.openStream(start);
      this.phase = Phase.Streaming;
    }
    if (more) return bytes.byteLength > 0 ? this.writeStream(bytes) : DONE;
    if (start.trailers) {
      this.phase = Phase.BodyDone;
      return bytes.byteLength > 0 ? this.writeStream(bytes) : DONE;
    }
    this.phase = Phase.Complete;
    this.closeStream(bytes, null);
    return DONE;
  }

  /** A last body message that leaves the body short of the app's Content-Length. */
  private endedShort(total: number, declared: number): never {
    const error = new ProtocolError(
      `the last http.response.body ended the body at ${total} bytes, short of the Content-Length of ${declared} ` +
        `given in http.response.start`,
    );
    if (this.phase === Phase.Streaming) {
      this.phase = Phase.Complete;
      this.abortResponse(error);
      throw new ProtocolError(`${error.message}; the connection was closed so the client cannot mistake it for a whole response`);
    }
    throw new ProtocolError(`${error.message}; nothing was sent, fix the header or the body`);
  }

  private onTrailers(message: { headers?: unknown; more_trailers?: unknown }): void {
    if (this.start?.trailers !== true) {
      throw new ProtocolError('http.response.trailers was sent, but http.response.start did not set trailers: true');
    }
    if (this.clientGone) throw this.disconnected('http.response.trailers');
    if (this.phase !== Phase.BodyDone) {
      throw new ProtocolError('http.response.trailers must follow the last http.response.body (more_body false)');
    }
    this.trailers.push(...checkTrailers(message.headers));
    if (message.more_trailers === true) return;
    this.phase = Phase.Complete;
    this.closeStream(EMPTY, this.trailers);
  }

  // --- how the app's call ended -----------------------------------------------------------------

  appReturned(): void {
    if (this.clientGone || this.phase === Phase.Complete) return;
    const unstarted = this.phase === Phase.NotStarted || this.phase === Phase.Started;
    const error = new ProtocolError(
      unstarted
        ? 'the app returned without sending a whole response (http.response.start, then http.response.body with ' +
            'more_body false); answered 500'
        : `the app returned before finishing its response (the last http.response.body had more_body true${
            this.phase === Phase.BodyDone ? ', or trailers were still due' : ''
          }); the response was cut`,
    );
    this.report.requestFault(error, this.scope, error.message);
    this.fail(error);
  }

  appFailed(error: unknown): void {
    // The app noticed the client left: not a fault.
    if (this.clientGone && error instanceof DisconnectedError) return;
    if (error !== this.reported) this.report.requestFault(error, this.scope, 'the app raised an error');
    if (this.clientGone || this.phase === Phase.Complete) return;
    this.fail(error instanceof Error ? error : new Error(String(error)));
  }

  private fail(error: Error): void {
    const unstarted = this.phase === Phase.NotStarted || this.phase === Phase.Started;
    this.phase = Phase.Complete;
    if (unstarted) this.answerServerError();
    else this.abortResponse(error);
  }
}
