/**
 * compress() for event apps (docs/spec.md §10). `send` is wrapped: http.response.start is held
 * until the first http.response.body shows whether the body is whole (one message: compressed
 * at once, with its new Content-Length, unless below minSize) or streamed (every message
 * compressed and flushed as it comes, each inner send() settling only once its compressed bytes
 * were sent, which keeps the server's backpressure). Websockets, lifespan, HEAD and Range
 * requests pass through untouched.
 */
import { scopeHeader } from '../shared/headers.js';
import type { EventApp, HttpScope, Send, SendMessage } from '../../spec/event-types.js';
import { compressWhole, StreamEncoder } from './encoder.js';
import type { Negotiator } from './negotiate.js';
import type { CompressConfig, CompressEncoding } from './options.js';
import { compressedHeaders, judgeResponse, SKIP, varyHeaders } from './rules.js';

export function eventCompress(inner: EventApp, config: CompressConfig, negotiator: Negotiator): EventApp {
  return (scope, receive, send) => {
    if (scope.type !== 'http' || scope.method === 'HEAD' || scopeHeader(scope, 'range') !== undefined) return inner(scope, receive, send);
    const response = new EventResponse(scope, send, config, negotiator);
    const result = inner(scope, receive, response.send);
    response.app = result;
    return result;
  };
}

const enum State {
  /** No http.response.start yet. */
  Idle,
  /** Start held until the first body message. */
  Held,
  /** Everything goes to the server as it is. */
  Pass,
  /** The body is compressed message by message. */
  Stream,
}

const RESOLVED = Promise.resolve();
const EMPTY = new Uint8Array(0);

type Start = Extract<SendMessage, { type: 'http.response.start' }>;
type Body = Extract<SendMessage, { type: 'http.response.body' }>;

class EventResponse {
  /** The app's promise, to free the compressor once the app is done. */
  app: unknown = null;
  private state = State.Idle;
  private start: Start | null = null;
  private headers: [string, string][] = [];
  private encoding: CompressEncoding | null = null;
  private encoder: StreamEncoder | null = null;
  private bodyDone = false;
  /** The last queued operation of a streamed response: they run in order, one at a time. */
  private tail: Promise<void> = RESOLVED;

  readonly send: Send = (message) => this.onSend(message);

  constructor(
    private readonly scope: HttpScope,
    private readonly outer: Send,
    private readonly config: CompressConfig,
    private readonly negotiator: Negotiator,
  ) {}

  private onSend(message: SendMessage): Promise<void> {
    const state = this.state;
    if (state === State.Pass) return this.outer(message);
    // Misuse (not an object, wrong order) goes to the server as it is: it names the problem.
    const type = message !== null && typeof message === 'object' ? message.type : undefined;
    if (state === State.Idle) return type === 'http.response.start' ? this.onStart(message as Start) : this.outer(message);
    if (state === State.Held) {
      if (type === 'http.response.body') return this.onFirstBody(message as Body);
      this.state = State.Pass;
      return this.sendBoth(this.start!, message);
    }
    return this.enqueue(message);
  }

  private onStart(start: Start): Promise<void> {
    const headers = stringPairs(start.headers);
    const judged = headers === null || typeof start.status !== 'number' ? SKIP : judgeResponse(start.status, headers, this.config.minSize);
    // Trailers with a Content-Length are refused by the server; let it say so.
    if (judged === SKIP || (start.trailers === true && judged >= 0)) {
      this.state = State.Pass;
      return this.outer(start);
    }
    const encoding = this.negotiator.choose(scopeHeader(this.scope, 'accept-encoding'));
    // Not compressed whatever the body: with a known size, or trailers (a streamed body), no
    // need to wait for the body to know the head gets Vary.
    if (encoding === null && (judged >= 0 || start.trailers === true)) {
      this.state = State.Pass;
      return this.outer({ ...start, headers: varyHeaders(headers!) });
    }
    this.encoding = encoding;
    if (start.trailers === true) {
      // Trailers need a chunked body: never the one-shot form with a Content-Length.
      this.state = State.Stream;
      return this.outer({ ...start, headers: compressedHeaders(headers!, encoding!, -1) });
    }
    this.state = State.Held;
    this.start = start;
    this.headers = headers!;
    return RESOLVED;
  }

  private onFirstBody(message: Body): Promise<void> {
    const start = this.start!;
    this.start = null;
    const bytes = bytesOf(message.body);
    if (bytes === null) {
      // Not a body: the server rejects it, with the app's own head.
      this.state = State.Pass;
      return this.sendBoth(start, message);
    }
    const whole = message.more_body !== true;
    // An empty body stays empty whatever minSize says: compressed, it would grow.
    if (whole && (bytes.byteLength < this.config.minSize || bytes.byteLength === 0)) {
      // Small and whole: as it is, without Vary.
      this.state = State.Pass;
      return this.sendBoth(start, message);
    }
    if (this.encoding === null) {
      // The client accepts no encoding: as it is, with Vary.
      this.state = State.Pass;
      return this.sendBoth({ ...start, headers: varyHeaders(this.headers) }, message);
    }
    if (!whole) {
      this.state = State.Stream;
      this.tail = this.outer({ ...start, headers: compressedHeaders(this.headers, this.encoding!, -1) });
      return this.enqueue(message);
    }
    // The whole body in one message.
    this.state = State.Stream;
    this.bodyDone = true;
    const compressed = compressWhole(this.encoding!, bytes, this.config);
    if (compressed instanceof Uint8Array) return this.sendWhole(start, compressed);
    return (this.tail = compressed.then((out) => this.sendWhole(start, out)));
  }

  private sendWhole(start: Start, compressed: Uint8Array): Promise<void> {
    const headers = compressedHeaders(this.headers, this.encoding!, compressed.byteLength);
    return (this.tail = this.sendBoth({ ...start, headers }, { type: 'http.response.body', body: compressed, more_body: false }));
  }

  /**
   * Sends two messages at once, in order, so that a message the app sends next (without
   * awaiting) cannot overtake them. Settles as the second, or fails with the first's error
   * (the more telling one: a refused start makes the body fail too).
   */
  private sendBoth(first: SendMessage, second: SendMessage): Promise<void> {
    const sentFirst = this.outer(first);
    const sentSecond = this.outer(second);
    return sentFirst.then(
      () => sentSecond,
      (error: unknown) => {
        sentSecond.then(undefined, () => {});
        throw error;
      },
    );
  }

  /** Runs `message` after everything sent before it (an app need not await each send()). */
  private enqueue(message: SendMessage): Promise<void> {
    const next = this.tail.then(() => this.process(message));
    this.tail = next;
    return next;
  }

  private async process(message: SendMessage): Promise<void> {
    if (message.type !== 'http.response.body' || this.bodyDone) return this.outer(message);
    const bytes = bytesOf(message.body);
    if (bytes === null) return this.outer(message);
    const more = message.more_body === true;
    if (more && bytes.byteLength === 0) return;
    const encoder = this.encoder ?? this.newEncoder();
    try {
      let out: Uint8Array;
      if (more) {
        out = await encoder.write(bytes);
        if (out.byteLength === 0) return;
      } else {
        this.bodyDone = true;
        out = await encoder.end(bytes);
        this.encoder = null;
      }
      await this.outer({ type: 'http.response.body', body: out, more_body: more });
    } catch (error) {
      // The client left (or the server refused): this response is over.
      this.bodyDone = true;
      this.dispose();
      throw error;
    }
  }

  private newEncoder(): StreamEncoder {
    const encoder = new StreamEncoder(this.encoding!, this.config);
    this.encoder = encoder;
    // An app that ends without finishing its body leaves a compressor behind: free it once
    // whatever it queued has run.
    const app = this.app as PromiseLike<unknown> | null;
    if (app !== null && typeof app === 'object' && typeof app.then === 'function') {
      const free = () => {
        this.tail.then(
          () => this.dispose(),
          () => this.dispose(),
        );
      };
      app.then(free, free);
    }
    return encoder;
  }

  private dispose(): void {
    this.encoder?.destroy();
    this.encoder = null;
  }
}

/** Header pairs as strings (event apps may send bytes, read as latin1); null when malformed. */
function stringPairs(headers: unknown): [string, string][] | null {
  const out: [string, string][] = [];
  if (headers === undefined || headers === null) return out;
  if (typeof headers !== 'object' || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') return null;
  for (const pair of headers as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const name = textOf(pair[0]);
    const value = textOf(pair[1]);
    if (name === null || value === null) return null;
    out.push([name, value]);
  }
  return out;
}

function textOf(part: unknown): string | null {
  if (typeof part === 'string') return part;
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1');
  return null;
}

function bytesOf(body: unknown): Uint8Array | null {
  if (body === undefined) return EMPTY;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return null;
}
