/**
 * One request to an event app (docs/spec.md §10), answered as a `Response`.
 *
 * `receive()` gives the request body (one message, or one per chunk of a streamed upload, pulled
 * as the app asks), then waits and gives `http.disconnect` once the response is complete or the
 * test cancelled it. `send()` is checked as the server checks it (a misuse rejects with a
 * ProtocolError); the `Response` is handed over at the first body message, and each later chunk
 * waits in its `send()` until the test reads it.
 */
import { buildResponseHead, ResponseHeadError } from '../core/response-head.js';
import { statusLine, toHeaderPairs } from '../event/headers.js';
import { callEventApp, DisconnectedError, messageType, ProtocolError, type AppCallOutcome } from '../event/runtime.js';
import type { EventApp, HttpScope, ReceiveMessage, SendMessage } from '../spec/event-types.js';
import { checkedCall, type CheckedCall } from './contract.js';
import { describeFault, type ClientContext } from './context.js';
import { PushedBody } from './pushed-body.js';
import type { PreparedRequest } from './request.js';
import { buildResponse, isNullBodyStatus, reasonOf, serverAnswer } from './response.js';
import { buildHttpScope } from './scope.js';
import { registerTrailers } from './trailers.js';
import { responseBodyBytes } from '../event/body.js';

const EMPTY = new Uint8Array(0);
const DISCONNECT: ReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as ReceiveMessage;
const RESOLVED = Promise.resolve();

const enum Phase {
  NotStarted,
  /** `http.response.start` received; no body yet. */
  Started,
  /** The `Response` was handed over with a streaming body. */
  Streaming,
  /** The last body message arrived; trailers may be due. */
  BodyDone,
  Complete,
}

interface Head {
  readonly code: number;
  readonly headers: [string, string][];
  readonly declaredLength: number;
}

export function runEventHttp(context: ClientContext, app: EventApp, request: PreparedRequest): Promise<Response> {
  return new EventHttpExchange(context, app, request).run();
}

class EventHttpExchange implements AppCallOutcome {
  private readonly call: CheckedCall<EventApp>;
  private readonly scope: HttpScope;
  private readonly label: string;
  private readonly isHead: boolean;
  private phase = Phase.NotStarted;
  private head: Head | null = null;
  private trailersDue = false;
  private trailers: [string, string][] = [];
  private discardedBytes = 0;
  private bytesSent = 0;
  private body: PushedBody | null = null;
  /** The last body chunk's delivery; the stream ends after it. */
  private lastPush: Promise<void> = RESOLVED;
  private clientGone = false;
  /** The exchange is over: receive() yields http.disconnect. */
  private ended = false;

  // The request body, as the app pulls it.
  private bodyDelivered = false;
  private reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  private reading: Promise<unknown> = RESOLVED;
  private receiveWaiters: Array<(message: ReceiveMessage) => void> = [];

  // The Response, handed over once.
  private settled = false;
  private resolveResponse!: (response: Response) => void;
  private rejectResponse!: (error: unknown) => void;
  private readonly response: Promise<Response>;
  private resolveTrailers!: (trailers: Headers) => void;
  private rejectTrailers!: (error: unknown) => void;
  private readonly trailerPromise: Promise<Headers>;
  private untrack: () => void = () => {};

  constructor(
    private readonly context: ClientContext,
    app: EventApp,
    private readonly request: PreparedRequest,
  ) {
    this.call = checkedCall(app, context.options.validate, (violation) => context.recordViolation(violation));
    this.scope = buildHttpScope(request, context.options.client, context.scopeState());
    this.label = `${request.method} ${request.rawPath}${request.query === '' ? '' : '?' + request.query}`;
    this.isHead = request.method === 'HEAD';
    this.response = new Promise((resolve, reject) => {
      this.resolveResponse = resolve;
      this.rejectResponse = reject;
    });
    this.trailerPromise = new Promise((resolve, reject) => {
      this.resolveTrailers = resolve;
      this.rejectTrailers = reject;
    });
    // Asked for only through trailersOf(): a failure nobody asks about is not an unhandled one.
    this.trailerPromise.catch(() => undefined);
    if (request.body.kind === 'stream') this.reader = request.body.stream.getReader();
  }

  run(): Promise<Response> {
    this.untrack = this.context.track(() => this.abandon(new Error('the TestClient was closed before this response was read to its end')));
    callEventApp(this.call.app, this.scope, this.receive, this.send, this);
    return this.response;
  }

  // --- receive() --------------------------------------------------------------------------------

  private readonly receive = (): Promise<ReceiveMessage> => {
    if (this.ended || this.clientGone) return Promise.resolve(DISCONNECT);
    if (!this.bodyDelivered) {
      const body = this.request.body;
      if (body.kind !== 'stream') {
        this.bodyDelivered = true;
        return Promise.resolve({ type: 'http.request', body: body.kind === 'bytes' ? body.bytes : EMPTY, more_body: false });
      }
      // One read of the test's stream per receive(), in order even if the app asks twice at once.
      const next = this.reading.then(() => this.readBody());
      this.reading = next;
      return next;
    }
    return new Promise((resolve) => this.receiveWaiters.push(resolve));
  };

  private async readBody(): Promise<ReceiveMessage> {
    if (this.ended || this.clientGone) return DISCONNECT;
    if (this.bodyDelivered) return new Promise((resolve) => this.receiveWaiters.push(resolve));
    let step: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
    try {
      step = await this.reader!.read();
    } catch (error) {
      // The test's stream failed: to the app that is a client that left mid-body.
      this.context.log(`${this.label}: the request body stream failed: ${error instanceof Error ? error.message : String(error)}`);
      this.clientGone = true;
      this.releaseReceivers();
      return DISCONNECT;
    }
    if (this.ended || this.clientGone) return DISCONNECT;
    if (step.done) {
      this.bodyDelivered = true;
      return { type: 'http.request', body: EMPTY, more_body: false };
    }
    const chunk: unknown = step.value;
    const bytes = chunk instanceof Uint8Array ? chunk : Buffer.from(String(chunk), 'utf8');
    return { type: 'http.request', body: bytes, more_body: true };
  }

  private releaseReceivers(): void {
    const waiters = this.receiveWaiters;
    this.receiveWaiters = [];
    for (const resolve of waiters) resolve(DISCONNECT);
  }

  // --- send() -----------------------------------------------------------------------------------

  private readonly send = (message: SendMessage): Promise<void> => {
    try {
      const type = messageType(message, 'send');
      if (type === 'http.response.body') return this.sendBody(message as { body?: unknown; more_body?: unknown });
      if (type === 'http.response.start') {
        this.startResponse(message as { status: unknown; headers?: unknown; trailers?: unknown });
        return RESOLVED;
      }
      if (type === 'http.response.trailers') return this.sendTrailers(message as { headers?: unknown; more_trailers?: unknown });
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on an http connection; expected ` +
          `http.response.start, http.response.body or http.response.trailers`,
      );
    } catch (error) {
      if (error instanceof ProtocolError) this.context.log(`${this.label}: ${error.message}`);
      return Promise.reject(error);
    }
  };

  private startResponse(message: { status: unknown; headers?: unknown; trailers?: unknown }): void {
    if (this.phase !== Phase.NotStarted) {
      if (this.clientGone) throw this.disconnected('http.response.start');
      throw new ProtocolError('http.response.start was sent twice; send it once, then http.response.body');
    }
    const origin = 'http.response.start';
    const status = statusLine(message.status, origin);
    const pairs = toHeaderPairs(message.headers, origin);
    let declaredLength: number;
    try {
      declaredLength = buildResponseHead(status, pairs, origin).declaredLength;
    } catch (error) {
      if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
      throw error;
    }
    if (message.trailers === true) {
      if (declaredLength !== -1) {
        throw new ProtocolError('http.response.start asked for trailers with a Content-Length header; trailers need a chunked body, so drop the Content-Length');
      }
      this.trailersDue = true;
    }
    if (this.clientGone) throw this.disconnected('http.response.start');
    this.head = { code: message.status as number, headers: pairs.map(([name, value]): [string, string] => [name, value]), declaredLength };
    this.phase = Phase.Started;
  }

  private sendBody(message: { body?: unknown; more_body?: unknown }): Promise<void> {
    const phase = this.phase;
    if (phase === Phase.NotStarted) {
      throw new ProtocolError('http.response.body was sent before http.response.start; send the status and headers first');
    }
    if (this.clientGone) throw this.disconnected('http.response.body');
    if (phase === Phase.BodyDone || phase === Phase.Complete) {
      throw new ProtocolError('http.response.body was sent after the last body message (more_body was false); the response is over');
    }
    const bytes = responseBodyBytes(message.body);
    const more = message.more_body === true;
    const head = this.head!;
    if (this.isHead || isNullBodyStatus(head.code)) {
      // HEAD, 204 and 304: the body is discarded; the head goes out at the last body message.
      this.discardedBytes += bytes.byteLength;
      if (more) return RESOLVED;
      this.phase = Phase.Complete;
      let headers = head.headers;
      if (isNullBodyStatus(head.code)) headers = headers.filter(([name]) => name.toLowerCase() !== 'content-length');
      else if (head.declaredLength === -1) headers = [...headers, ['Content-Length', String(this.discardedBytes)]];
      this.respond(headers, null);
      this.complete(null);
      return RESOLVED;
    }
    const declared = head.declaredLength;
    if (declared !== -1 && this.bytesSent + bytes.byteLength > declared) {
      // Never more than announced: the excess would be read as the next response.
      throw new ProtocolError(
        `http.response.body would take the body to ${this.bytesSent + bytes.byteLength} bytes, past the ` +
          `Content-Length of ${declared} given in http.response.start; fix the header or the body`,
      );
    }
    if (phase === Phase.Started && !more && !this.trailersDue && (declared === -1 || declared === bytes.byteLength)) {
      // The whole body in one message: a Response of known length.
      this.phase = Phase.Complete;
      this.bytesSent = bytes.byteLength;
      const headers: [string, string][] = declared === -1 ? [...head.headers, ['Content-Length', String(bytes.byteLength)]] : head.headers;
      this.respond(headers, bytes.byteLength === 0 ? null : bytes);
      this.complete(null);
      return RESOLVED;
    }
    if (phase === Phase.Started) {
      this.phase = Phase.Streaming;
      this.body = new PushedBody(() => this.onCancel());
      this.respond(head.headers, this.body.stream);
      if (this.clientGone) throw this.disconnected('http.response.body');
    }
    this.bytesSent += bytes.byteLength;
    const delivered = bytes.byteLength > 0 ? this.body!.push(bytes) : RESOLVED;
    if (more) return delivered;
    this.phase = Phase.BodyDone;
    this.lastPush = delivered;
    if (this.trailersDue) return delivered;
    return delivered.then(() => this.endStream());
  }

  private sendTrailers(message: { headers?: unknown; more_trailers?: unknown }): Promise<void> {
    if (!this.trailersDue) throw new ProtocolError('http.response.trailers was sent, but http.response.start did not set trailers: true');
    if (this.clientGone) throw this.disconnected('http.response.trailers');
    if (this.phase !== Phase.BodyDone) throw new ProtocolError('http.response.trailers must follow the last http.response.body (more_body false)');
    const pairs = toHeaderPairs(message.headers, 'http.response.trailers');
    try {
      buildResponseHead('200 OK', pairs, 'http.response.trailers');
    } catch (error) {
      if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
      throw error;
    }
    for (const [name, value] of pairs) this.trailers.push([name, value]);
    if (message.more_trailers === true) return RESOLVED;
    this.trailersDue = false;
    return this.lastPush.then(() => this.endStream());
  }

  /** The last body message (and trailers) arrived and was read: the body ends, or fails short. */
  private endStream(): void {
    if (this.phase === Phase.Complete || this.clientGone) return;
    const declared = this.head!.declaredLength;
    if (declared !== -1 && this.bytesSent < declared) {
      const problem =
        `the last http.response.body ended the body at ${this.bytesSent} bytes, short of the Content-Length of ` +
        `${declared}; a client sees a truncated response`;
      const error = new ProtocolError(problem);
      this.context.log(`${this.label}: ${problem}`);
      this.phase = Phase.Complete;
      this.body!.error(new Error(`${this.label}: ${problem}`), error);
      this.complete(error);
      throw error;
    }
    this.phase = Phase.Complete;
    this.body!.close();
    this.complete(null);
  }

  // --- the Response -------------------------------------------------------------------------------

  private respond(headers: [string, string][], body: ReadableStream<Uint8Array> | Uint8Array | null): void {
    if (this.settled) return;
    this.settled = true;
    const violation = this.call.violations[0];
    if (violation !== undefined) {
      // The test fails with the violation; the app's further sends see a client that left.
      this.clientGone = true;
      this.rejectResponse(violation);
      this.complete(violation);
      return;
    }
    const response = buildResponse(this.head!.code, reasonOf(this.head!.code), headers, body, this.request.url);
    registerTrailers(response, this.trailerPromise);
    this.resolveResponse(response);
  }

  /** The exchange is over: `receive()` yields http.disconnect, trailers are settled. */
  private complete(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.untrack();
    this.releaseReceivers();
    if (!this.bodyDelivered && this.reader !== null) void this.reader.cancel().catch(() => undefined);
    if (error === null) this.resolveTrailers(new Headers(this.trailers));
    else this.rejectTrailers(error);
  }

  // --- the app's outcome ----------------------------------------------------------------------------

  appReturned(): void {
    if (this.phase === Phase.Complete || this.clientGone) {
      this.complete(null);
      return;
    }
    // The last body message was sent (the test may not have read it yet): the response is whole.
    if (this.phase === Phase.BodyDone && !this.trailersDue) return;
    if (this.phase === Phase.NotStarted || this.phase === Phase.Started) {
      this.failBeforeStart(
        new Error(
          `${this.label}: the app returned without sending a whole response (http.response.start, then ` +
            `http.response.body with more_body false); the server answers 500`,
        ),
      );
      return;
    }
    this.failAfterStart(
      new Error(
        `${this.label}: the app returned before finishing its response (the last http.response.body had more_body true` +
          `${this.trailersDue ? ', or trailers were still due' : ''}); a client sees a cut response`,
      ),
    );
  }

  appFailed(error: unknown): void {
    if (this.clientGone && error instanceof DisconnectedError) {
      this.complete(null);
      return; // the app noticed the client left: not a fault
    }
    if (this.phase === Phase.Complete || this.clientGone || (this.phase === Phase.BodyDone && !this.trailersDue)) {
      this.context.log(describeFault(this.label, 'the app raised after its response was complete', error));
      if (this.phase !== Phase.BodyDone) this.complete(null);
      return;
    }
    if (this.phase === Phase.NotStarted || this.phase === Phase.Started) this.failBeforeStart(error);
    else this.failAfterStart(error);
  }

  private failBeforeStart(error: unknown): void {
    this.phase = Phase.Complete;
    const violation = this.call.violations[0];
    if (violation !== undefined || this.context.options.raiseServerExceptions) {
      this.settled = true;
      this.rejectResponse(violation ?? error);
    } else {
      this.context.log(describeFault(this.label, 'the app failed; answered 500', error));
      this.settled = true;
      this.resolveResponse(serverAnswer(500, undefined, this.request.url, this.isHead));
    }
    this.complete(error);
  }

  private failAfterStart(error: unknown): void {
    this.context.log(describeFault(this.label, 'the app failed after the response started', error));
    this.phase = Phase.Complete;
    this.body?.error(error, this.disconnected('http.response.body'));
    this.complete(error);
  }

  // --- the client's side ------------------------------------------------------------------------------

  /** The test cancelled the body: the client went away. */
  private onCancel(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.body?.rejectOffer(this.disconnected('http.response.body'));
    this.complete(new Error('the response body was cancelled'));
  }

  /** The TestClient is closing: whatever is still open fails with `reason`. */
  private abandon(reason: Error): void {
    if (this.ended) return;
    this.clientGone = true;
    if (!this.settled) {
      this.settled = true;
      this.rejectResponse(reason);
    }
    this.body?.error(reason, this.disconnected('http.response.body'));
    this.complete(reason);
  }

  private disconnected(what: string): DisconnectedError {
    return new DisconnectedError(
      `${what} cannot be sent: the client closed the connection (receive() now returns http.disconnect); stop producing this response`,
    );
  }
}
