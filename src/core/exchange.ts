/**
 * One request/response exchange for a gateway app: the `startResponse` state machine, the walk
 * over the returned body (sync, async, with backpressure), Content-Length enforcement, HEAD and
 * bodiless statuses, fault handling and the one call to the body's `close()`.
 *
 * The reference semantics are PEP 3333's (wsgiref's `BaseHandler.finish_response`): headers go
 * out with the first non-empty chunk, or at the end when the body is empty.
 */
import type { BodyChunk, Closable, Environ, ExcInfo, HeaderPair, WriteFunction } from '../spec/types.js';
import { cgiKey } from './environ.js';
import type { GatewayRuntime } from './gateway.js';
import { RequestInput, type InputOwner } from './input.js';
import { describe, stackOf, type ResponseHead } from './response-head.js';
import type { ExchangeEvents, Transport } from './transport.js';
import type { Refusal } from './framing.js';
import { ResponseWire, WireState, type WireOwner } from './wire.js';

export class Exchange implements ExchangeEvents, InputOwner, WireOwner {
  input: RequestInput | null = null;
  /** When the exchange began (performance.now()), for the access log and metrics. */
  readonly startedAt: number;
  /** The response on the wire: HEAD/204/304, Content-Length, server answers, access log. */
  private readonly wire: ResponseWire;
  private head: ResponseHead | null = null;
  private closable: Closable | null = null;
  private closed = false;
  private syncIterator: Iterator<unknown> | null = null;
  private asyncIterator: AsyncIterator<unknown> | null = null;
  private drainWaiter: (() => void) | null = null;
  private writeFunction: WriteFunction | null = null;
  private appCalled = false;
  /** The response ended before the body did, by design: later write() calls are dropped. */
  private discardBody = false;
  /** The client went away: later app activity is expected, not a fault. */
  private clientGone = false;
  readonly startResponse = (status: string, headers: readonly HeaderPair[], excInfo?: ExcInfo): WriteFunction =>
    this.onStartResponse(status, headers, excInfo);

  constructor(
    private readonly runtime: GatewayRuntime,
    private readonly transport: Transport,
    readonly environ: Environ,
    isHead: boolean,
  ) {
    this.wire = new ResponseWire(transport, isHead, runtime.logger, this, runtime.report);
    this.startedAt = runtime.report === null ? 0 : performance.now();
    runtime.report?.started();
  }

  get finished(): boolean {
    return this.wire.done;
  }

  // --- what the wire needs to know (WireOwner) ------------------------------------------------

  clientAddress(): string {
    return this.environ.REMOTE_ADDR;
  }

  clientPort(): string {
    return this.environ.REMOTE_PORT;
  }

  requestHeader(lowerName: string): string | undefined {
    const environ = this.environ;
    if (lowerName === 'content-type') return environ.CONTENT_TYPE;
    if (lowerName === 'content-length') return environ.CONTENT_LENGTH;
    const value = environ[cgiKey(lowerName)];
    return typeof value === 'string' ? value : undefined;
  }

  get bytesReceived(): number {
    return this.input?.receivedBytes ?? 0;
  }

  get requestMethod(): string {
    return this.environ.REQUEST_METHOD;
  }

  get requestRawPath(): string {
    return this.environ['tsgi.raw_path'];
  }

  get requestQuery(): string {
    return this.environ.QUERY_STRING;
  }

  get requestProtocol(): string {
    return this.environ.SERVER_PROTOCOL;
  }

  // --- calling the app -----------------------------------------------------------------------

  run(): void {
    this.appCalled = true;
    let result: unknown;
    let thenable = false;
    try {
      result = this.runtime.app(this.environ, this.startResponse);
      // Reading `then` runs app code too (a getter), so it belongs inside the try.
      thenable = result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function';
      if (thenable) {
        (result as PromiseLike<unknown>).then(
          (body) => this.consume(body),
          (error: unknown) => this.fail(error),
        );
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    if (!thenable) this.consume(result);
  }

  /** Takes the app's return value. Any throw from app code it touches becomes a fault. */
  private consume(body: unknown): void {
    try {
      this.consumeBody(body);
    } catch (error) {
      this.fail(error);
    }
  }

  private consumeBody(body: unknown): void {
    if (body !== null && typeof body === 'object' && typeof (body as Closable).close === 'function') {
      this.closable = body as Closable;
    }
    if (this.wire.done) {
      // The client left while the app was working; the response has nowhere to go.
      this.callClose();
      return;
    }
    // close() runs after the response ended, when a lazily fetched REMOTE_ADDR can no longer be
    // fetched: settle it now.
    if (this.closable !== null) void this.environ.REMOTE_ADDR;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      this.fail(
        new TypeError(
          `the app returned ${describe(body)} instead of an iterable of chunks; return the body ` +
            `inside one, for example [body] (a bare string would be sent one character at a time)`,
        ),
      );
      return;
    }
    if (Array.isArray(body)) {
      // Legacy write() output must precede the array, so only a response with nothing written
      // yet takes the one-burst path.
      if (this.wire.state === WireState.Idle) this.sendArray(body);
      else this.pumpSync(body[Symbol.iterator]());
      return;
    }
    if (body !== null && typeof body === 'object') {
      if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
        this.pumpAsync((body as AsyncIterable<unknown>)[Symbol.asyncIterator]());
        return;
      }
      if (typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function') {
        this.pumpSync((body as Iterable<unknown>)[Symbol.iterator]());
        return;
      }
    }
    this.fail(
      new TypeError(
        `the app returned ${describe(body)}; a gateway app must return an iterable of string or ` +
          `Uint8Array chunks (for example [body]), an async iterable, or a promise of one`,
      ),
    );
  }

  // --- startResponse and the legacy write ----------------------------------------------------

  private onStartResponse(
    status: string,
    headers: readonly HeaderPair[],
    excInfo: ExcInfo,
  ): WriteFunction {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: replacing the headers is allowed until they are sent; after that, re-raise.
      if (this.wire.headersSent) throw excInfo;
    } else if (this.head !== null) {
      throw new Error(
        'startResponse() was called a second time without excInfo; pass the caught error as the ' +
          'third argument to replace the status and headers of a response that has not started',
      );
    }
    if (this.wire.done && !this.clientGone) {
      throw new Error('startResponse() was called after the response ended');
    }
    // After a client disconnect the call still succeeds: an app finishing its work normally is
    // not at fault, and its body is discarded (close() has run).
    this.head = this.runtime.heads.get(status, headers);
    if (this.writeFunction === null) this.writeFunction = (chunk: BodyChunk) => this.legacyWrite(chunk);
    return this.writeFunction;
  }

  private legacyWrite(chunk: BodyChunk): void {
    if (this.head === null) throw new Error('write() was called before startResponse()');
    if (this.wire.done) {
      // HEAD, 204/304 and a reached Content-Length end the response early on purpose.
      if (this.discardBody) return;
      throw new Error('write() was called after the response ended (the client disconnected)');
    }
    if (!isChunk(chunk)) throw chunkTypeError(chunk);
    // The transport buffers what the socket cannot take yet; the body walk that follows waits
    // for drain before adding more.
    this.writeChunk(chunk);
  }

  // --- the body -------------------------------------------------------------------------------

  /** The common case: the whole body is known, so it goes out in one burst with its length. */
  private sendArray(chunks: readonly unknown[]): void {
    const head = this.requireHead();
    if (head === null) return;
    let total = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i];
      if (typeof chunk === 'string') total += chunk.length === 0 ? 0 : Buffer.byteLength(chunk);
      else if (chunk instanceof Uint8Array) total += chunk.byteLength;
      else return this.fail(chunkTypeError(chunk));
    }
    const declared = head.declaredLength;
    if (declared !== -1 && declared !== total && !this.wire.sendsNoBody(head)) {
      // The app's length is wrong: stream what fits, and let the stream's length check cut the
      // connection if the body ran short.
      this.pumpSync(chunks[Symbol.iterator]());
      return;
    }
    let body: BodyChunk | null = null;
    if (total > 0 && !this.wire.sendsNoBody(head)) {
      body = chunks.length === 1 ? (chunks[0] as BodyChunk) : concat(chunks as BodyChunk[], total);
    }
    this.wire.sendWhole(head, body, total);
  }

  private pumpSync(iterator: Iterator<unknown>): void {
    this.syncIterator = iterator;
    try {
      for (;;) {
        if (this.wire.done) return;
        const step = iterator.next();
        if (step.done === true) break;
        const chunk = step.value;
        if (!isChunk(chunk)) return this.fail(chunkTypeError(chunk));
        if (!this.writeChunk(chunk)) {
          // Resumed by onDrain (or ended by onAbort).
          return;
        }
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    this.syncIterator = null;
    this.endBody();
  }

  private async pumpAsync(iterator: AsyncIterator<unknown>): Promise<void> {
    this.asyncIterator = iterator;
    try {
      for (;;) {
        const step = await iterator.next();
        if (this.finished) return;
        if (step.done === true) break;
        const chunk = step.value;
        if (!isChunk(chunk)) return this.fail(chunkTypeError(chunk));
        if (!this.writeChunk(chunk)) {
          if (this.finished) return;
          await new Promise<void>((resolve) => {
            this.drainWaiter = resolve;
          });
          if (this.finished) return;
        }
      }
    } catch (error) {
      this.fail(error);
      return;
    }
    this.asyncIterator = null;
    this.endBody();
  }

  /**
   * Writes one chunk of a streamed body. Returns false when the caller must wait for drain, and
   * also once the exchange has finished (the caller then stops).
   */
  private writeChunk(chunk: BodyChunk): boolean {
    let length = typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (length === 0) return true;
    const head = this.requireHead();
    if (head === null) return false;
    const wire = this.wire;
    if (wire.sendsNoBody(head)) {
      // No body goes on the wire, so there is no reason to keep iterating (the body may be
      // endless): the head goes out now, announcing no length, as a streamed GET would.
      this.discardBody = true;
      this.stopIterating();
      wire.sendWhole(head, null, -1);
      return false;
    }
    const room = wire.room(head);
    const overran = length > room;
    if (overran) {
      // Never send more than the app announced: the excess would be read as the next response.
      length = room;
      chunk = toBytes(chunk).subarray(0, length);
    }
    if (wire.state === WireState.Idle) wire.startStream(head);
    const writable = length > 0 ? wire.writeStream(chunk, length) : true;
    if (overran) {
      this.discardBody = true;
      this.runtime.logger.log(
        'error',
        `${this.requestLabel()}: the app produced more body than its Content-Length of ${head.declaredLength}; ` +
          `the excess was not sent`,
      );
      this.stopIterating();
      this.endBody();
      return false;
    }
    return writable;
  }

  /** The body iterable is exhausted: complete the response. */
  private endBody(): void {
    if (this.wire.done) return;
    const head = this.requireHead();
    if (head === null) return;
    // A body that ends empty goes out with its head (HEAD and 204/304 end at their first chunk,
    // see writeChunk); one that ends short of its Content-Length cuts the connection.
    if (!this.wire.endBody(head)) {
      this.runtime.logger.log(
        'error',
        `${this.requestLabel()}: the app's body ended after ${this.wire.bytes} of the ${head.declaredLength} bytes its ` +
          `Content-Length announced; the connection was closed so the client sees an incomplete response`,
      );
    }
  }

  /** The head the body needs, or a 500 when the app never called startResponse. */
  private requireHead(): ResponseHead | null {
    if (this.head !== null) return this.head;
    this.fail(
      new Error(
        'the app returned (or produced body) without calling startResponse(); call ' +
          'startResponse(status, headers) before returning the body',
      ),
    );
    return null;
  }

  // --- faults and the end -------------------------------------------------------------------

  /** The app raised, rejected, or broke the contract. */
  fail(error: unknown): void {
    if (this.wire.done) {
      // Typically a legacy write() after the client left; only a real fault is worth an error.
      const level = this.clientGone ? 'debug' : 'error';
      this.runtime.logger.log(level, `${this.requestLabel()}: the app raised after the response ended:\n${stackOf(error)}`);
      return;
    }
    this.runtime.logger.log('error', `${this.requestLabel()}: the app raised:\n${stackOf(error)}`);
    this.stopIterating();
    if (this.wire.state !== WireState.Idle) {
      // Bytes are on the wire: only a cut connection tells the client the response is incomplete.
      this.wire.abort();
    } else {
      this.wire.serverAnswer(500, this.runtime.debug ? stackOf(error) : undefined);
    }
  }

  /** A request whose framing or Host cannot be trusted: refused before the app sees it (docs/spec.md §8). */
  refuse(refusal: Refusal): void {
    this.wire.refuse(refusal, this.requestLabel());
  }

  private stopIterating(): void {
    const asyncIterator = this.asyncIterator;
    const syncIterator = this.syncIterator;
    this.syncIterator = null;
    this.asyncIterator = null;
    if (syncIterator !== null && typeof syncIterator.return === 'function') {
      // Runs a generator's finally blocks. Throws if called from inside the generator itself
      // (a write() in its body), which is fine: it is then finishing anyway.
      try {
        syncIterator.return();
      } catch (error) {
        this.runtime.logger.log('debug', `${this.requestLabel()}: stopping the body iterator: ${stackOf(error)}`);
      }
    }
    if (asyncIterator !== null && typeof asyncIterator.return === 'function') {
      // Let an async generator run its finally blocks; its own errors are the app's business.
      Promise.resolve()
        .then(() => asyncIterator.return!())
        .catch((error: unknown) => this.runtime.logger.log('error', `${this.requestLabel()}: closing the body failed:\n${stackOf(error)}`));
    }
  }

  /** The wire's last word was said: release whoever waits, and call the body's close(). */
  responseOver(): void {
    this.wakeDrainWaiter();
    // An app still reading the request body must not wait forever for bytes nobody will read.
    // (Checked first: an Error captures a stack trace, far too costly for every request.)
    const input = this.input;
    if (input !== null && !input.isSettled) input.fail(new Error('the response ended before the request body was read to its end'));
    this.callClose();
  }

  private callClose(): void {
    const closable = this.closable;
    if (closable === null || this.closed) return;
    this.closed = true;
    try {
      const result = closable.close();
      if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (error: unknown) =>
          this.runtime.logger.log('error', `${this.requestLabel()}: the body's close() failed:\n${stackOf(error)}`),
        );
      }
    } catch (error) {
      this.runtime.logger.log('error', `${this.requestLabel()}: the body's close() failed:\n${stackOf(error)}`);
    }
  }

  private wakeDrainWaiter(): void {
    const waiter = this.drainWaiter;
    if (waiter !== null) {
      this.drainWaiter = null;
      waiter();
    }
  }

  requestLabel(): string {
    const environ = this.environ;
    return `${environ.REQUEST_METHOD} ${environ['tsgi.raw_path']}`;
  }

  // --- events from the acceptor --------------------------------------------------------------

  onAbort(): void {
    if (this.wire.done) return;
    this.clientGone = true;
    this.input?.fail(new Error('the client disconnected before the request body was complete'));
    this.runtime.logger.log('debug', `${this.requestLabel()}: the client disconnected before the response ended`);
    this.stopIterating();
    this.wire.abandon();
  }

  onDrain(): void {
    if (this.wire.done) return;
    if (this.drainWaiter !== null) {
      this.wakeDrainWaiter();
    } else if (this.syncIterator !== null) {
      this.pumpSync(this.syncIterator);
    }
  }

  // --- the request body (InputOwner) ---------------------------------------------------------

  onInputComplete(): void {
    if (!this.appCalled && this.wire.state === WireState.Idle) this.run();
  }

  onInputOverflow(): void {
    this.rejectOversizedBody();
  }

  rejectOversizedBody(): void {
    if (this.wire.done) return;
    // The rest of the body is never read, so the connection cannot carry another request.
    this.wire.serverAnswer(413, `The request body is larger than this server accepts (${this.runtime.maxBodySize} bytes).`, true);
  }

  pauseInput(): void {
    this.transport.pauseBody();
  }

  resumeInput(): void {
    this.transport.resumeBody();
  }
}

function isChunk(value: unknown): value is BodyChunk {
  return typeof value === 'string' || value instanceof Uint8Array;
}

function chunkTypeError(chunk: unknown): TypeError {
  return new TypeError(
    `a body chunk must be a string or a Uint8Array; got ${describe(chunk)}. Encode objects first ` +
      `(for example JSON.stringify(value))`,
  );
}

function toBytes(chunk: BodyChunk): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

function concat(chunks: readonly BodyChunk[], total: number): Buffer {
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const chunk of chunks) {
    if (typeof chunk === 'string') offset += out.write(chunk, offset, 'utf8');
    else {
      out.set(chunk, offset);
      offset += chunk.byteLength;
    }
  }
  return out;
}
