/**
 * One request to a gateway app (docs/spec.md §1–§7), answered as a `Response`.
 *
 * The app runs as the server runs it: `startResponse` validates at once and may be replaced with
 * `excInfo` until the response starts; the response starts with the first non-empty chunk (or the
 * end of the body), which is when the `Response` is handed over. After that the body is pulled
 * from the app one chunk per read of `response.body`, so an endless generator produces only what
 * the test reads; `close()` runs exactly once when the body ends, fails, or the test cancels it.
 */
import { buildResponseHead, describe } from '../core/response-head.js';
import { closerOf } from '../middleware/shared/body.js';
import { inputModeOfApp } from '../middleware/shared/kind.js';
import type { BodyChunk, Environ, ExcInfo, GatewayApp, HeaderPair, WriteFunction } from '../spec/types.js';
import { checkedCall, type CheckedCall } from './contract.js';
import { describeFault, type ClientContext } from './context.js';
import { buildEnviron } from './environ.js';
import { bufferedInput, streamedInput, type FedInput } from './gateway-input.js';
import type { PreparedRequest } from './request.js';
import { buildResponse, isNullBodyStatus, serverAnswer } from './response.js';

interface Head {
  readonly code: number;
  readonly reason: string;
  readonly headers: [string, string][];
  /** The app's Content-Length, or -1. */
  readonly declaredLength: number;
}

export async function runGateway(context: ClientContext, app: GatewayApp, request: PreparedRequest): Promise<Response> {
  const exchange = new GatewayExchange(context, app, request);
  return exchange.run();
}

class GatewayExchange {
  private readonly call: CheckedCall<GatewayApp>;
  private readonly isHead: boolean;
  private readonly label: string;
  private head: Head | null = null;
  /** The response started (a non-empty chunk exists): startResponse with excInfo now re-throws. */
  private committed = false;
  /** The response is over (body ended, failed, cancelled, or the client closed). */
  private done = false;
  /** Ended early on purpose (HEAD, 204/304, a reached Content-Length): write() is then quiet. */
  private discardBody = false;
  private clientGone = false;
  private bytesSent = 0;
  /** Chunks from the legacy write(), sent before what the body yields next. */
  private written: Uint8Array[] = [];
  private writeFunction: WriteFunction | null = null;
  private syncIterator: Iterator<unknown> | null = null;
  private asyncIterator: AsyncIterator<unknown> | null = null;
  /** The body iterable is exhausted. */
  private exhausted = false;
  private closeBody: () => void | Promise<void> = () => {};
  private input: FedInput | null = null;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  private untrack: () => void = () => {};
  private readonly mode: 'buffered' | 'stream';

  constructor(
    private readonly context: ClientContext,
    app: GatewayApp,
    private readonly request: PreparedRequest,
  ) {
    // The input mode is the app's own; the validator's wrapper keeps it too.
    this.mode = inputModeOfApp(app);
    this.call = checkedCall(app, context.options.validate, (violation) => context.recordViolation(violation));
    this.isHead = request.method === 'HEAD';
    this.label = `${request.method} ${request.rawPath}${request.query === '' ? '' : '?' + request.query}`;
  }

  async run(): Promise<Response> {
    const request = this.request;
    const options = this.context.options;
    if (this.mode === 'buffered') {
      const declared = request.headers.find(([name]) => name === 'content-length')?.[1];
      const outcome = await bufferedInput(request.body, declared === undefined ? null : Number(declared), options.maxBodySize);
      if ('tooLarge' in outcome) {
        this.context.log(`${this.label}: the request body is larger than maxBodySize (${options.maxBodySize} bytes); answered 413`);
        return serverAnswer(413, `The request body is larger than this server accepts (${options.maxBodySize} bytes).`, request.url, this.isHead);
      }
      this.input = outcome;
    } else {
      this.input = streamedInput(request.body);
    }
    this.untrack = this.context.track(() => this.abandon(new Error('the TestClient was closed before this response was read to its end')));
    const environ: Environ = buildEnviron(request, options.client, this.input.input, this.context.errorStream);
    let body: unknown;
    try {
      body = this.call.app(environ, this.startResponse);
      if (body !== null && typeof body === 'object' && typeof (body as PromiseLike<unknown>).then === 'function') body = await body;
    } catch (error) {
      return this.failBeforeStart(error);
    }
    return this.consume(body);
  }

  // --- startResponse and the legacy write -------------------------------------------------------

  private readonly startResponse = (status: string, headers: readonly HeaderPair[], excInfo?: ExcInfo): WriteFunction => {
    if (excInfo !== undefined && excInfo !== null) {
      // PEP 3333: the head may be replaced until it went out; after that, re-raise.
      if (this.committed) throw excInfo;
    } else if (this.head !== null) {
      throw new Error(
        'startResponse() was called a second time without excInfo; pass the caught error as the third argument ' +
          'to replace the status and headers of a response that has not started',
      );
    }
    if (this.done && !this.clientGone) throw new Error('startResponse() was called after the response ended');
    // The server's own validation: a TypeError naming the offending value.
    const built = buildResponseHead(status, headers);
    this.head = {
      code: built.statusCode,
      reason: status.slice(4),
      headers: headers.map(([name, value]): [string, string] => [name, value]),
      declaredLength: built.declaredLength,
    };
    this.writeFunction ??= (chunk: BodyChunk) => this.legacyWrite(chunk);
    return this.writeFunction;
  };

  private legacyWrite(chunk: BodyChunk): void {
    if (this.head === null) throw new Error('write() was called before startResponse()');
    if (this.done) {
      if (this.discardBody) return;
      throw new Error('write() was called after the response ended (the client disconnected)');
    }
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw chunkTypeError(chunk);
    const bytes = toBytes(chunk);
    if (bytes.byteLength === 0) return;
    this.committed = true;
    this.written.push(bytes);
  }

  // --- the body -----------------------------------------------------------------------------------

  private async consume(body: unknown): Promise<Response> {
    this.closeBody = closerOf(body);
    if (this.done) {
      this.callClose();
      throw new Error('the TestClient was closed before the app answered');
    }
    if (typeof body === 'string' || body instanceof Uint8Array) {
      return this.failBeforeStart(
        new TypeError(
          `the app returned ${describe(body)} instead of an iterable of chunks; return the body inside one, for ` +
            `example [body] (a bare string would be sent one character at a time)`,
        ),
      );
    }
    if (Array.isArray(body) && this.written.length === 0) return this.respondWhole(body);
    if (body !== null && typeof body === 'object' && typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      this.asyncIterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    } else if (body !== null && typeof body === 'object' && typeof (body as Iterable<unknown>)[Symbol.iterator] === 'function') {
      this.syncIterator = (body as Iterable<unknown>)[Symbol.iterator]();
    } else {
      return this.failBeforeStart(
        new TypeError(
          `the app returned ${describe(body)}; a gateway app must return an iterable of string or Uint8Array chunks ` +
            `(for example [body]), an async iterable, or a promise of one`,
        ),
      );
    }
    let first: Uint8Array | null;
    try {
      first = await this.nextChunk();
    } catch (error) {
      if (!this.committed) return this.failBeforeStart(error);
      // Written bytes had started the response: the test gets them, then the error.
      first = this.takeWritten();
      return this.respondStream(first, error);
    }
    return this.respondStream(first, null);
  }

  /** The whole body is known: one `Response` with its length, as the server's one-burst path. */
  private respondWhole(chunks: readonly unknown[]): Promise<Response> {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const chunk of chunks) {
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return this.failBeforeStart(chunkTypeError(chunk));
      const bytes = toBytes(chunk);
      parts.push(bytes);
      total += bytes.byteLength;
    }
    const head = this.head;
    if (head === null) return this.failBeforeStart(noStartResponse());
    if (head.declaredLength !== -1 && head.declaredLength !== total && !this.sendsNoBody(head)) {
      // The app's length is wrong: stream what fits, and let the length check fail the body.
      this.syncIterator = parts[Symbol.iterator]();
      return this.nextChunk().then((first) => this.respondStream(first, null));
    }
    this.committed = true;
    this.finish();
    this.callClose();
    const violation = this.call.violations[0];
    if (violation !== undefined) return Promise.reject(violation);
    const headers = this.headersWithLength(head, total);
    const bytes = this.sendsNoBody(head) || total === 0 ? null : parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
    return Promise.resolve(this.build(head, headers, bytes === null ? null : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  }

  /** A streamed body: `first` is its first non-empty chunk (null: it ended empty). */
  private async respondStream(first: Uint8Array | null, failure: unknown): Promise<Response> {
    if (this.clientGone) throw new Error('the TestClient was closed before the app answered');
    const head = this.head;
    if (head === null) return this.failBeforeStart(noStartResponse());
    const violation = this.call.violations[0];
    if (violation !== undefined) {
      this.end();
      throw violation;
    }
    this.committed = true;
    if (this.sendsNoBody(head)) {
      // HEAD, 204 and 304: the head goes out now, announcing no length (as a streamed GET would
      // not), and the body, which may be endless, is not iterated further.
      this.discardBody = true;
      const headers = head.declaredLength === -1 && first === null && this.exhausted ? this.headersWithLength(head, 0) : head.headers;
      this.end();
      return this.build(head, this.isBodiless(head) ? withoutLength(headers) : headers, null);
    }
    if (first === null && failure === null) {
      this.end();
      // The body ended empty: it goes out with its head and a length of 0 (unless the app
      // declared more: then the stream below fails at once, as a cut response).
      if (head.declaredLength <= 0) return this.build(head, this.headersWithLength(head, 0), null);
    }
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
          if (first !== null) this.deliver(first);
          if (failure !== null) this.failAfterStart(failure);
          else if (this.exhausted || this.done) this.endStream();
        },
        pull: () => this.pull(),
        cancel: () => this.abandon(null),
      },
      // Nothing is pulled ahead: the app produces a chunk only when the test reads one.
      { highWaterMark: 0 },
    );
    return this.build(head, head.headers, stream);
  }

  private async pull(): Promise<void> {
    if (this.done) return;
    let chunk: Uint8Array | null;
    try {
      chunk = await this.nextChunk();
    } catch (error) {
      const written = this.takeWritten();
      if (written !== null) this.deliver(written);
      this.failAfterStart(error);
      return;
    }
    if (this.done) return;
    if (chunk !== null) this.deliver(chunk);
    if (this.done) return;
    const violation = this.call.violations[0];
    if (violation !== undefined) return this.failAfterStart(violation);
    if (chunk === null || this.exhausted) this.endStream();
  }

  /** The next non-empty chunk (write() output first), or null at the end of the body. */
  private async nextChunk(): Promise<Uint8Array | null> {
    for (;;) {
      const written = this.takeWritten();
      if (written !== null) return written;
      if (this.exhausted || this.done) return null;
      const step = this.syncIterator !== null ? this.syncIterator.next() : await this.asyncIterator!.next();
      if (this.done) return null;
      if (step.done === true) {
        this.exhausted = true;
        this.syncIterator = null;
        this.asyncIterator = null;
        continue;
      }
      const chunk: unknown = step.value;
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) throw chunkTypeError(chunk);
      const bytes = toBytes(chunk);
      if (bytes.byteLength === 0) continue;
      // write() calls made while producing this chunk were sent before it.
      this.written.push(bytes);
      this.committed = true;
    }
  }

  private takeWritten(): Uint8Array | null {
    const written = this.written;
    if (written.length === 0) return null;
    this.written = [];
    return written.length === 1 ? written[0]! : new Uint8Array(Buffer.concat(written));
  }

  /** Hands a chunk to the reader, never more than the app's Content-Length. */
  private deliver(chunk: Uint8Array): void {
    const head = this.head!;
    let bytes = chunk;
    if (head.declaredLength !== -1) {
      const room = head.declaredLength - this.bytesSent;
      if (bytes.byteLength > room) {
        bytes = bytes.subarray(0, room);
        this.context.log(
          `${this.label}: the app produced more body than its Content-Length of ${head.declaredLength}; the excess was not sent`,
        );
        this.discardBody = true;
        this.stopIterating();
        this.exhausted = true;
      }
    }
    this.bytesSent += bytes.byteLength;
    if (bytes.byteLength > 0) this.controller!.enqueue(bytes);
  }

  private endStream(): void {
    if (this.controller === null) return;
    const head = this.head!;
    const controller = this.controller;
    if (head.declaredLength !== -1 && this.bytesSent < head.declaredLength) {
      const message =
        `${this.label}: the app's body ended after ${this.bytesSent} of the ${head.declaredLength} bytes its ` +
        `Content-Length announced; a client sees a truncated response`;
      this.context.log(message);
      this.end();
      controller.error(new Error(message));
      return;
    }
    this.end();
    controller.close();
  }

  // --- faults and the end ---------------------------------------------------------------------

  /** The app failed before its response started: the error itself, or the server's 500. */
  private failBeforeStart(error: unknown): Promise<Response> {
    this.end();
    const violation = this.call.violations[0];
    if (violation !== undefined) return Promise.reject(violation);
    if (this.context.options.raiseServerExceptions) return Promise.reject(error);
    this.context.log(describeFault(this.label, 'the app raised; answered 500', error));
    return Promise.resolve(serverAnswer(500, undefined, this.request.url, this.isHead));
  }

  /** After the response started only the body can fail: the reader gets the app's error. */
  private failAfterStart(error: unknown): void {
    const controller = this.controller;
    if (this.done) return;
    this.context.log(describeFault(this.label, 'the app raised after the response started', error));
    this.end();
    controller?.error(error);
  }

  /** The test cancelled the body (null), or the client is being closed (an error for the reader). */
  private abandon(reason: Error | null): void {
    if (this.done) return;
    this.clientGone = true;
    const controller = this.controller;
    this.end();
    if (reason !== null) {
      try {
        controller?.error(reason);
      } catch {
        // Already closed by the reader.
      }
    }
  }

  /** Everything that ends a response: stop iterating, close the body once, release the input. */
  private end(): void {
    if (this.done) return;
    this.done = true;
    this.stopIterating();
    this.finish();
    this.callClose();
  }

  private finish(): void {
    this.input?.finish();
    this.untrack();
  }

  private stopIterating(): void {
    const syncIterator = this.syncIterator;
    const asyncIterator = this.asyncIterator;
    this.syncIterator = null;
    this.asyncIterator = null;
    if (syncIterator !== null && typeof syncIterator.return === 'function') {
      try {
        syncIterator.return();
      } catch (error) {
        this.context.log(describeFault(this.label, 'stopping the body iterator failed', error));
      }
    }
    if (asyncIterator !== null && typeof asyncIterator.return === 'function') {
      // Runs an async generator's finally blocks (after a pending next(), as the server does).
      Promise.resolve()
        .then(() => asyncIterator.return!())
        .catch((error: unknown) => this.context.log(describeFault(this.label, 'closing the body failed', error)));
    }
  }

  private callClose(): void {
    try {
      const result = this.closeBody();
      if (result !== undefined && result !== null && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (error: unknown) => this.context.log(describeFault(this.label, "the body's close() failed", error)));
      }
    } catch (error) {
      this.context.log(describeFault(this.label, "the body's close() failed", error));
    }
  }

  // --- the Response -----------------------------------------------------------------------------

  private sendsNoBody(head: Head): boolean {
    return this.isHead || this.isBodiless(head);
  }

  private isBodiless(head: Head): boolean {
    return isNullBodyStatus(head.code);
  }

  /** The app's headers plus the Content-Length the server computes for a body of known length. */
  private headersWithLength(head: Head, total: number): [string, string][] {
    if (this.isBodiless(head)) return withoutLength(head.headers);
    if (head.declaredLength !== -1) return head.headers;
    return [...head.headers, ['Content-Length', String(total)]];
  }

  private build(head: Head, headers: [string, string][], body: ReadableStream<Uint8Array> | Uint8Array | null): Response {
    return buildResponse(head.code, head.reason, headers, body, this.request.url);
  }
}

function withoutLength(headers: [string, string][]): [string, string][] {
  return headers.filter(([name]) => name.toLowerCase() !== 'content-length');
}

function noStartResponse(): Error {
  return new Error('the app returned (or produced body) without calling startResponse(); call startResponse(status, headers) before returning the body');
}

function chunkTypeError(chunk: unknown): TypeError {
  return new TypeError(
    `a body chunk must be a string or a Uint8Array; got ${describe(chunk)}. Encode objects first (for example JSON.stringify(value))`,
  );
}

function toBytes(chunk: BodyChunk): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}
