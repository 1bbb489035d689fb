/**
 * Event apps over HTTP: one `app(scope, receive, send)` call per request (docs/spec.md §10).
 *
 * The request body reaches the app through `receive()` as fast as it asks and no faster: past a
 * small queue the acceptor stops reading the socket. The response goes out through `send()`:
 * a single `http.response.body` without `more_body` is sent in one burst with its length (the
 * common case), anything else streams with the transport's backpressure.
 */
import { framingProblem, hasBody, type Refusal } from '../core/framing.js';
import { buildResponseHead, ResponseHeadError, stackOf, type ResponseHead } from '../core/response-head.js';
import type { BodyReceiver, ExchangeEvents, RequestHandler, RequestHead, Transport } from '../core/transport.js';
import { ResponseWire, type WireOwner } from '../core/wire.js';
import type { HttpScope, ReceiveMessage, SendMessage } from '../spec/event-types.js';
import type { BodyChunk, HeaderPair } from '../spec/types.js';
import { headerOf, statusLine, toHeaderPairs } from './headers.js';
import { callEventApp, DisconnectedError, messageType, ProtocolError, type AppCallOutcome, type EventRuntime } from './runtime.js';
import { applyForwarding, buildHttpScope, clientAddressOf, clientPortOf, newFacts, type RequestFacts } from './scope.js';
import { responseBodyBytes } from './body.js';

const EMPTY = new Uint8Array(0);
/** Body bytes queued for the app before the socket is paused. */
const BODY_HIGH_WATER = 64 * 1024;

/** What send() returns when there is nothing to wait for: one settled promise shared by all. */
export const RESOLVED: Promise<void> = Promise.resolve();

/**
 * The server's own `send` carries its call under this key, so a bridge inside tsgi (from-node)
 * can send without a promise per message and learn of a refusal at once, as a thrown error. A
 * `send` wrapped by middleware has no such key and the bridge uses it as any app would.
 */
export const IMMEDIATE_SEND = Symbol('tsgi.immediateSend');

/** `send()` without the promise: throws what send() would reject with; a promise only to wait for drain. */
export interface ImmediateSender {
  sendNow(message: SendMessage): Promise<void> | undefined;
}

/** The immediate sender behind a `send`, if it is the server's own; null for any other. */
export function immediateSenderOf(send: unknown): ImmediateSender | null {
  return (send as { [IMMEDIATE_SEND]?: ImmediateSender })[IMMEDIATE_SEND] ?? null;
}

const DISCONNECT: ReceiveMessage = Object.freeze({ type: 'http.disconnect' }) as ReceiveMessage;
const EMPTY_REQUEST: ReceiveMessage = Object.freeze({ type: 'http.request', body: EMPTY, more_body: false }) as ReceiveMessage;

const enum Response {
  /** No `http.response.start` yet. */
  NotStarted,
  /** Start received, nothing on the wire yet. */
  Started,
  /** Headers (and maybe body bytes) are on the wire. */
  Streaming,
  /** The last body message arrived; trailers may still be due. */
  BodyDone,
  /** The response is complete on the wire, or was answered by the server. */
  Complete,
}

export class EventHttpHandler implements RequestHandler {
  /** Reused by every dispatch: scope building is synchronous. */
  private readonly facts: RequestFacts;

  constructor(private readonly runtime: EventRuntime) {
    this.facts = newFacts(runtime.limitRequestFields);
  }

  dispatch(head: RequestHead, transport: Transport): void {
    const facts = this.facts;
    const scope = buildHttpScope(head, this.runtime.defaults, facts);
    if (facts.forwarding !== null && this.runtime.proxyTrust !== null) applyForwarding(scope, facts.forwarding, this.runtime.proxyTrust);
    const call = new HttpCall(this.runtime, transport, scope, hasBody(facts));
    const problem = framingProblem(facts, head.protocol);
    if (problem !== null) {
      call.refuse(problem);
      return;
    }
    // Settle a lazily fetched client address while the response is alive (the access log and
    // an app reading it late both need it).
    if (this.runtime.report !== null) void scope.client;
    // Read from the start: uWS drops a request whose body arrives after its handler returned
    // without an onData handler, so an app awaiting anything before its first receive() would
    // see http.disconnect. Chunks queue (up to BODY_HIGH_WATER, then the socket pauses) until
    // the app asks for them.
    call.startReading();
    call.run();
    if (!call.over) transport.watch(call);
  }
}

class HttpCall implements ExchangeEvents, BodyReceiver, AppCallOutcome, WireOwner, ImmediateSender {
  private state = Response.NotStarted;
  private head: ResponseHead | null = null;
  private trailersDue = false;
  /** HEAD, 204 and 304: body bytes the app sent that the wire does not carry. */
  private discardedBytes = 0;
  /** The response on the wire: HEAD/204/304, Content-Length, server answers, access log. */
  private readonly wire: ResponseWire;
  /** The client is gone or the response is complete: the exchange is over for the transport. */
  private ended = false;
  private clientGone = false;

  // Request body, as the app pulls it.
  private reading = false;
  private bodyDelivered: boolean;
  private bodyComplete: boolean;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private paused = false;
  private receiveWaiters: Array<(message: ReceiveMessage) => void> | null = null;

  // Response backpressure: at most one send() waits for drain at a time.
  private drainWaiter: { resolve: () => void; reject: (error: Error) => void } | null = null;

  readonly receive = (): Promise<ReceiveMessage> => this.onReceive();
  readonly send = (message: SendMessage): Promise<void> => this.onSend(message);
  /** When the call began (performance.now()), for the access log and metrics. */
  readonly startedAt: number;
  /** Request body bytes received. */
  bytesReceived = 0;

  constructor(
    private readonly runtime: EventRuntime,
    private readonly transport: Transport,
    readonly scope: HttpScope,
    hasBody: boolean,
  ) {
    this.bodyComplete = !hasBody;
    this.bodyDelivered = false;
    (this.send as { [IMMEDIATE_SEND]?: ImmediateSender })[IMMEDIATE_SEND] = this;
    this.wire = new ResponseWire(transport, scope.method === 'HEAD', runtime.logger, this, runtime.report);
    this.startedAt = runtime.report === null ? 0 : performance.now();
    runtime.report?.started();
  }

  // --- what the wire needs to know (WireOwner) ------------------------------------------------

  clientAddress(): string {
    return clientAddressOf(this.scope);
  }

  clientPort(): string {
    return clientPortOf(this.scope);
  }

  requestHeader(lowerName: string): string | undefined {
    return headerOf(this.scope.headers, lowerName);
  }

  get requestMethod(): string {
    return this.scope.method;
  }

  get requestRawPath(): string {
    return this.scope.raw_path;
  }

  get requestQuery(): string {
    return this.scope.query_string;
  }

  get requestProtocol(): string {
    return this.scope.http_version === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1';
  }

  get over(): boolean {
    return this.ended;
  }

  run(): void {
    callEventApp(this.runtime.app, this.scope, this.receive, this.send, this);
  }

  /** Starts delivering the request body into the queue (no-op for a request without one). */
  startReading(): void {
    if (this.reading || this.bodyComplete) return;
    this.reading = true;
    this.transport.readBody(this);
  }

  refuse(refusal: Refusal): void {
    this.state = Response.Complete;
    this.wire.refuse(refusal, this.label());
  }

  // --- receive() ------------------------------------------------------------------------------

  private onReceive(): Promise<ReceiveMessage> {
    // Once the response is complete, unread body bytes are discarded by the acceptor.
    if (this.ended) return Promise.resolve(DISCONNECT);
    if (!this.bodyDelivered) {
      if (this.queue.length > 0) return Promise.resolve(this.takeQueued());
      if (this.bodyComplete) {
        this.bodyDelivered = true;
        return Promise.resolve(EMPTY_REQUEST);
      }
    }
    // Waiting for body bytes, or (body delivered) for the end of the exchange.
    return new Promise((resolve) => (this.receiveWaiters ??= []).push(resolve));
  }

  /** Everything queued as one `http.request` message. */
  private takeQueued(): ReceiveMessage {
    const queue = this.queue;
    const body = queue.length === 1 ? queue[0]! : Buffer.concat(queue, this.queuedBytes);
    this.queue = [];
    this.queuedBytes = 0;
    const last = this.bodyComplete;
    if (last) this.bodyDelivered = true;
    if (this.paused && !last) {
      this.paused = false;
      this.transport.resumeBody();
    }
    return { type: 'http.request', body, more_body: !last };
  }

  onBodyChunk(chunk: Uint8Array, isLast: boolean): void {
    if (this.clientGone || this.bodyComplete) return;
    if (chunk.byteLength > 0) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.byteLength;
      this.bytesReceived += chunk.byteLength;
    }
    if (isLast) this.bodyComplete = true;
    else if (!this.paused && this.queuedBytes >= BODY_HIGH_WATER) {
      this.paused = true;
      this.transport.pauseBody();
    }
    const waiters = this.receiveWaiters;
    if (waiters !== null && !this.bodyDelivered && (this.queue.length > 0 || this.bodyComplete)) {
      const resolve = waiters.shift()!;
      if (waiters.length === 0) this.receiveWaiters = null;
      resolve(this.queue.length > 0 ? this.takeQueued() : this.deliverEmptyEnd());
    }
  }

  private deliverEmptyEnd(): ReceiveMessage {
    this.bodyDelivered = true;
    return EMPTY_REQUEST;
  }

  /** Wakes every pending receive() with http.disconnect (client gone or response complete). */
  private releaseReceivers(): void {
    const waiters = this.receiveWaiters;
    if (waiters === null) return;
    this.receiveWaiters = null;
    for (const resolve of waiters) resolve(DISCONNECT);
  }

  // --- send() ---------------------------------------------------------------------------------

  private onSend(message: SendMessage): Promise<void> {
    try {
      return this.sendNow(message) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  sendNow(message: SendMessage): Promise<void> | undefined {
    try {
      const type = messageType(message, 'send');
      if (type === 'http.response.body') return this.sendBody(message as Extract<SendMessage, { type: 'http.response.body' }>);
      if (type === 'http.response.start') {
        this.startResponse(message as Extract<SendMessage, { type: 'http.response.start' }>);
        return undefined;
      }
      if (type === 'http.response.trailers') {
        this.sendTrailers(message as Extract<SendMessage, { type: 'http.response.trailers' }>);
        return undefined;
      }
      throw new ProtocolError(
        `send() got a message of type ${JSON.stringify(type)} on an http connection; expected ` +
          `http.response.start, http.response.body or http.response.trailers`,
      );
    } catch (error) {
      throw this.misuse(error);
    }
  }

  private startResponse(message: { status: unknown; headers?: unknown; trailers?: unknown }): void {
    if (this.state !== Response.NotStarted) {
      if (this.clientGone) throw this.disconnected('http.response.start');
      throw new ProtocolError('http.response.start was sent twice; send it once, then http.response.body');
    }
    const origin = 'http.response.start';
    const status = statusLine(message.status, origin);
    let head: ResponseHead;
    try {
      head = this.runtime.heads.get(status, toHeaderPairs(message.headers, origin), origin);
    } catch (error) {
      // Event apps see every misuse as one error type (docs/spec.md §9).
      if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
      throw error;
    }
    if (message.trailers === true) {
      if (this.scope.extensions['http.response.trailers'] === undefined) {
        throw new ProtocolError(
          'http.response.start asked for trailers, but this connection cannot carry them (scope.extensions has ' +
            'no "http.response.trailers": the uws backend and HTTP/1.0 clients have none); send them as headers instead',
        );
      }
      if (head.declaredLength !== -1) {
        throw new ProtocolError('http.response.start asked for trailers with a Content-Length header; trailers need a chunked body, so drop the Content-Length');
      }
      this.trailersDue = true;
    }
    this.head = head;
    if (this.clientGone) throw this.disconnected('http.response.start');
    this.state = Response.Started;
  }

  /** Sends one body message; a promise only when the app must wait for the socket to drain. */
  private sendBody(message: { body?: unknown; more_body?: unknown }): Promise<void> | undefined {
    const state = this.state;
    if (state === Response.NotStarted) {
      throw new ProtocolError('http.response.body was sent before http.response.start; send the status and headers first');
    }
    if (this.clientGone) throw this.disconnected('http.response.body');
    if (state === Response.BodyDone || state === Response.Complete) {
      throw new ProtocolError('http.response.body was sent after the last body message (more_body was false); the response is over');
    }
    // Text stays text down to the transport, which writes it as UTF-8 (an ASCII body joins its
    // head as one string): no Buffer of its own per response.
    const body = message.body;
    const chunk: BodyChunk = typeof body === 'string' ? body : responseBodyBytes(body);
    const length = typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.byteLength;
    const more = message.more_body === true;
    const head = this.head!;
    const wire = this.wire;
    if (wire.sendsNoBody(head)) return this.sendWithoutBody(head, length, more);
    const declared = head.declaredLength;
    if (length > wire.room(head)) {
      // Never send more than announced: the excess would be read as the next response.
      throw new ProtocolError(
        `http.response.body would take the body to ${wire.bytes + length} bytes, past the ` +
          `Content-Length of ${declared} given in http.response.start; fix the header or the body`,
      );
    }
    if (state === Response.Started && !more && !this.trailersDue && (declared === -1 || declared === length)) {
      // The whole body in one message: one burst, length known.
      this.state = Response.Complete;
      wire.sendWhole(head, chunk, length);
      return undefined;
    }
    if (state === Response.Started) {
      this.state = Response.Streaming;
      wire.startStream(head);
    }
    const writable = length > 0 ? wire.writeStream(chunk, length) : true;
    if (!more) {
      // Trailers need a body without Content-Length (checked at the start), so only a response
      // that ends here can fall short.
      this.state = Response.BodyDone;
      if (!this.trailersDue) this.completeStream(null);
    }
    if (writable || this.ended) return undefined;
    return new Promise((resolve, reject) => {
      this.drainWaiter = { resolve, reject };
    });
  }

  /** HEAD, 204 and 304: the head goes out once the app has finished its (discarded) body. */
  private sendWithoutBody(head: ResponseHead, length: number, more: boolean): undefined {
    this.discardedBytes += length;
    if (more) return undefined;
    this.state = Response.Complete;
    this.wire.sendWhole(head, null, this.discardedBytes);
    return undefined;
  }

  private sendTrailers(message: { headers?: unknown; more_trailers?: unknown }): void {
    if (!this.trailersDue) {
      throw new ProtocolError('http.response.trailers was sent, but http.response.start did not set trailers: true');
    }
    if (this.clientGone) throw this.disconnected('http.response.trailers');
    if (this.state !== Response.BodyDone) {
      throw new ProtocolError('http.response.trailers must follow the last http.response.body (more_body false)');
    }
    const trailers = toHeaderPairs(message.headers, 'http.response.trailers');
    // Validated with the same rules as headers (names are tokens, values clean).
    try {
      buildResponseHead('200 OK', trailers, 'http.response.trailers');
    } catch (error) {
      if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
      throw error;
    }
    const pending = (this.pendingTrailers ??= []);
    pending.push(...trailers);
    if (message.more_trailers !== true) this.completeStream(pending);
  }

  /** Allocated only by apps that send trailers. */
  private pendingTrailers: HeaderPair[] | null = null;

  private completeStream(trailers: readonly HeaderPair[] | null): void {
    this.state = Response.Complete;
    if (!this.wire.endBody(this.head!, trailers)) {
      throw new ProtocolError(
        `the last http.response.body ended the body at ${this.wire.bytes} bytes, short of the Content-Length of ` +
          `${this.head!.declaredLength}; the connection was closed so the client cannot mistake it for a whole response`,
      );
    }
  }

  // --- the app's outcome ----------------------------------------------------------------------

  appReturned(): void {
    if (this.state === Response.Complete || this.clientGone) return;
    if (this.state === Response.NotStarted || this.state === Response.Started) {
      this.runtime.logger.log(
        'error',
        `${this.label()}: the app returned without sending a whole response (http.response.start, then ` +
          `http.response.body with more_body false); answered 500`,
      );
      this.answerServerError(undefined);
      return;
    }
    this.runtime.logger.log(
      'error',
      `${this.label()}: the app returned before finishing its response (the last http.response.body had more_body ` +
        `true${this.trailersDue ? ', or trailers were still due' : ''}); the connection was closed`,
    );
    this.abortResponse();
  }

  appFailed(error: unknown): void {
    if (this.clientGone && error instanceof DisconnectedError) {
      // The app noticed the client left: that is not a fault.
      this.runtime.logger.log('debug', `${this.label()}: ${error.message}`);
      return;
    }
    if (this.loggedError !== error) {
      this.runtime.logger.log('error', `${this.label()}: the app raised an error:\n${stackOf(error)}`);
    }
    if (this.clientGone || this.state === Response.Complete) return;
    if (this.state === Response.NotStarted || this.state === Response.Started) {
      this.answerServerError(this.runtime.debug ? stackOf(error) : undefined);
    } else {
      this.abortResponse();
    }
  }

  /** The last misuse logged by send(); one is enough, as the app's first misuse ends it. */
  private loggedError: unknown = null;

  /** Logs a protocol misuse where it happened (the app may swallow it) and returns it to throw. */
  private misuse(error: unknown): unknown {
    if (error instanceof ProtocolError) {
      this.loggedError = error;
      this.runtime.logger.log('error', `${this.label()}: ${error.message}`);
    }
    return error;
  }

  private answerServerError(detail: string | undefined): void {
    this.state = Response.Complete;
    this.wire.serverAnswer(500, detail);
  }

  private abortResponse(): void {
    this.state = Response.Complete;
    this.wire.abort();
  }

  private disconnected(what: string): DisconnectedError {
    return new DisconnectedError(
      `${what} cannot be sent: the client closed the connection (receive() now returns http.disconnect); stop ` +
        `producing this response`,
    );
  }

  // --- transport events -----------------------------------------------------------------------

  onAbort(): void {
    if (this.ended) return;
    this.clientGone = true;
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.reject(this.disconnected('http.response.body'));
    this.wire.abandon();
  }

  onDrain(): void {
    const waiter = this.drainWaiter;
    if (waiter !== null) {
      this.drainWaiter = null;
      waiter.resolve();
    }
  }

  /** The wire's last word was said: wake whoever waits. */
  responseOver(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.releaseReceivers();
    const waiter = this.drainWaiter;
    if (waiter !== null) {
      this.drainWaiter = null;
      waiter.resolve();
    }
  }

  private label(): string {
    const scope = this.scope;
    return `${scope.method} ${scope.raw_path}${scope.query_string === '' ? '' : '?' + scope.query_string}`;
  }
}
