/**
 * compress() for gateway apps (docs/spec.md §1, §5). The app's startResponse is intercepted:
 * a response that cannot or need not be compressed is passed to the server at once, unchanged
 * (or with `Vary`), and its body is returned untouched. A response that may be compressed waits
 * until its body shows whether it is whole (an array: compressed at once, unless it is below
 * minSize) or streamed (compressed chunk by chunk by a CompressedBody).
 */
import { chunkBytes, closerOf, isAsyncIterable, isPromiseLike, isSyncIterable } from '../shared/body.js';
import type { AnyBody, BodyChunk, Environ, ExcInfo, GatewayApp, HeaderPair, StartResponse, WriteFunction } from '../../spec/types.js';
import { compressWhole } from './encoder.js';
import { CompressedBody } from './gateway-body.js';
import { Mode } from './mode.js';
import type { Negotiator } from './negotiate.js';
import type { CompressConfig, CompressEncoding } from './options.js';
import { compressedHeaders, judgeResponse, SKIP, statusCodeOf, varyHeaders } from './rules.js';

export function gatewayCompress(inner: GatewayApp, config: CompressConfig, negotiator: Negotiator): GatewayApp {
  return (environ, startResponse) => {
    // HEAD announces the GET's length, which a compressed GET would not have; a Range request's
    // byte offsets refer to the uncompressed body.
    if (environ.REQUEST_METHOD === 'HEAD' || environ.HTTP_RANGE !== undefined) return inner(environ, startResponse);
    const exchange = new GatewayExchange(environ, startResponse, config, negotiator);
    const result = inner(environ, exchange.startResponse);
    if (isPromiseLike(result)) return Promise.resolve(result).then((body) => exchange.respond(body));
    return exchange.respond(result);
  };
}

interface PendingStart {
  status: string;
  headers: readonly HeaderPair[];
  excInfo: ExcInfo;
}

/** One request through compress(): the intercepted startResponse and the legacy write(). */
export class GatewayExchange {
  mode: Mode = Mode.Waiting;
  encoding: CompressEncoding | null = null;
  /** Compressed bytes went to the server, or write() chunks were taken for compression. */
  produced = false;
  /** write() chunks waiting to be compressed ahead of the body's next chunk. */
  private writes: Uint8Array[] = [];
  private pending: PendingStart | null = null;
  private serverWrite: WriteFunction | null = null;
  private ownWrite: WriteFunction | null = null;
  private body: CompressedBody | null = null;

  readonly startResponse: StartResponse = (status, headers, excInfo) => this.onStartResponse(status, headers, excInfo);

  constructor(
    private readonly environ: Environ,
    private readonly serverStart: StartResponse,
    readonly config: CompressConfig,
    private readonly negotiator: Negotiator,
  ) {}

  private onStartResponse(status: string, headers: readonly HeaderPair[], excInfo: ExcInfo): WriteFunction {
    const replacing = excInfo !== undefined && excInfo !== null;
    if (!replacing && this.mode !== Mode.Waiting) {
      throw new Error(
        'startResponse() was called a second time without excInfo; pass the caught error as the third argument ' +
          'to replace the status and headers of a response that has not started',
      );
    }
    const mode = this.mode;
    if (mode === Mode.Pass || (mode === Mode.Compress && this.produced)) {
      // Too late to change how the body is encoded; the server replaces the head, or re-raises
      // excInfo when the head is already out.
      const replacement = mode === Mode.Pass ? this.passHeaders(status, headers) : compressedHeaders(headers, this.encoding!, -1);
      this.serverWrite = this.serverStart(status, replacement, excInfo);
      return this.writeFunction();
    }
    const judged = Array.isArray(headers) ? judgeResponse(statusCodeOf(status), headers, this.config.minSize) : SKIP;
    const encoding = judged === SKIP ? null : this.negotiator.choose(acceptEncodingOf(this.environ));
    // Not compressed, and no need to see the body to know it: the server gets the head now (so
    // it validates it at once) and the body passes through untouched.
    if (judged === SKIP || (encoding === null && (judged >= 0 || mode === Mode.Compress))) {
      this.serverWrite = this.serverStart(status, judged === SKIP ? headers : varyHeaders(headers), excInfo);
      if (mode === Mode.Compress) this.body?.stopCompressing();
      this.mode = Mode.Pass;
      return mode === Mode.Waiting ? this.serverWrite : this.writeFunction();
    }
    this.encoding = encoding;
    if (mode === Mode.Compress) {
      // A replacement before any compressed byte went out: still compressed, new head.
      this.serverWrite = this.serverStart(status, compressedHeaders(headers, encoding!, -1), excInfo);
    } else {
      // Wait for the body: a whole one below minSize goes out as it is, without Vary, and only
      // a body of size unknown or large enough is compressed (or, for a client that accepts no
      // encoding, gets Vary).
      this.pending = { status, headers, excInfo };
      this.mode = Mode.Deferred;
    }
    return this.writeFunction();
  }

  /** The headers of a response sent uncompressed: with Vary when compression was possible. */
  private passHeaders(status: string, headers: readonly HeaderPair[]): readonly HeaderPair[] {
    if (!Array.isArray(headers) || judgeResponse(statusCodeOf(status), headers, this.config.minSize) === SKIP) return headers;
    return varyHeaders(headers);
  }

  private writeFunction(): WriteFunction {
    return (this.ownWrite ??= (chunk: BodyChunk) => this.write(chunk));
  }

  /** The legacy write(): passed on, or kept to be compressed in order before the body. */
  private write(chunk: BodyChunk): void {
    if (this.mode === Mode.Deferred) this.commitStreamed();
    if (this.mode === Mode.Pass) {
      this.serverWrite!(chunk);
      return;
    }
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
      throw new TypeError(`write() takes a string or a Uint8Array; got ${chunk === null ? 'null' : typeof chunk}`);
    }
    if (this.body?.finished === true) throw new Error('write() was called after the response ended');
    const bytes = chunkBytes(chunk);
    if (bytes.byteLength === 0) return;
    this.writes.push(bytes);
    this.produced = true;
  }

  /** The next write() chunk to compress, if any. */
  takeWrite(): Uint8Array | undefined {
    return this.writes.length === 0 ? undefined : this.writes.shift();
  }

  /**
   * The body turned out to be streamed (or of a size above minSize): compressed when the client
   * accepts an encoding, else passed on with Vary.
   */
  commitStreamed(): void {
    if (this.encoding === null) this.commitUnchanged(true);
    else this.commitCompressed(-1);
  }

  /** Gives the server the head of a compressed response; `length` -1 leaves the framing to it. */
  private commitCompressed(length: number): void {
    const pending = this.pending!;
    this.pending = null;
    this.serverWrite = this.serverStart(pending.status, compressedHeaders(pending.headers, this.encoding!, length), pending.excInfo);
    this.mode = Mode.Compress;
  }

  /**
   * Gives the server the head as the app wrote it (with Vary when `vary`): the body is not
   * compressed after all.
   */
  private commitUnchanged(vary = false): void {
    const pending = this.pending!;
    this.pending = null;
    this.serverWrite = this.serverStart(pending.status, vary ? varyHeaders(pending.headers) : pending.headers, pending.excInfo);
    this.mode = Mode.Pass;
  }

  /** What the wrapper returns to the server for the app's body. */
  respond(body: unknown): AnyBody | Promise<AnyBody> {
    // The fast path: a response the server can have as it is.
    if (this.mode === Mode.Pass) return body as AnyBody;
    try {
      return this.wrap(body);
    } catch (error) {
      // The server's startResponse refused the head, or the body's iterator could not be had:
      // the server never sees the app's body, so it is closed here.
      void closerOf(body)();
      throw error;
    }
  }

  private wrap(body: unknown): AnyBody | Promise<AnyBody> {
    const mode = this.mode;
    if (mode === Mode.Deferred && Array.isArray(body)) return this.respondWhole(body);
    if (typeof body === 'string' || body instanceof Uint8Array || (!isAsyncIterable(body) && !isSyncIterable(body))) {
      // Not a body: the server names the contract error (with the app's own head).
      if (mode === Mode.Deferred) this.commitUnchanged();
      return body as AnyBody;
    }
    if (mode === Mode.Deferred) {
      this.commitStreamed();
      if (this.mode === Mode.Pass) return body as AnyBody;
    }
    // Compress, or Waiting: startResponse comes lazily, during the body's first step.
    return (this.body = new CompressedBody(this, body));
  }

  /** An array body: whole and known, so compressed in one go with its length (or not at all). */
  private respondWhole(chunks: readonly unknown[]): AnyBody | Promise<AnyBody> {
    let total = 0;
    for (const chunk of chunks) {
      if (typeof chunk === 'string') total += Buffer.byteLength(chunk);
      else if (chunk instanceof Uint8Array) total += chunk.byteLength;
      else {
        // The server reports the bad chunk.
        this.commitUnchanged();
        return chunks as AnyBody;
      }
    }
    // An empty body stays empty whatever minSize says: compressed, it would grow.
    if (total < this.config.minSize || total === 0) {
      this.commitUnchanged();
      return chunks as AnyBody;
    }
    if (this.encoding === null) {
      this.commitUnchanged(true);
      return chunks as AnyBody;
    }
    const data = chunks.length === 1 ? chunkBytes(chunks[0] as BodyChunk) : Buffer.concat((chunks as BodyChunk[]).map(chunkBytes), total);
    const compressed = compressWhole(this.encoding!, data, this.config);
    if (compressed instanceof Uint8Array) return this.wholeBody(compressed, chunks);
    return compressed
      .then((bytes) => this.wholeBody(bytes, chunks))
      .then(undefined, (error: unknown) => {
        // No body reaches the server, so nobody else would close the app's.
        void closerOf(chunks)();
        throw error;
      });
  }

  private wholeBody(compressed: Buffer, original: readonly unknown[]): AnyBody {
    this.commitCompressed(compressed.byteLength);
    this.produced = true;
    const body: Uint8Array[] & { close?: () => void | Promise<void> } = [compressed];
    // An array the app gave a close() still gets it called once, when the server is done.
    if (typeof (original as { close?: unknown }).close === 'function') body.close = closerOf(original);
    return body;
  }
}

/**
 * The request's Accept-Encoding. Read by its environ key directly: this runs on every
 * compressible response, and building the key from the header name costs more than the rest
 * of the fast path together.
 */
function acceptEncodingOf(environ: Environ): string | undefined {
  const value = environ.HTTP_ACCEPT_ENCODING;
  return typeof value === 'string' ? value : undefined;
}
