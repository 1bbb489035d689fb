/**
 * A `Response` that keeps what it was made from. A standard `Response` turns every body into a
 * `ReadableStream` (and copies bytes) when it is constructed, and offers no way back to the
 * string or bytes it was given; a server then has to read a stream to send `'Hello'`. This one
 * stores the body and the init as given: the fetch bridge sends a string, bytes or a Blob in one
 * piece with its length (send.ts), and anything the handler asks of it beyond the status and
 * headers (`body`, `text()`, `clone()`, …) is answered by a standard Response made on first need.
 *
 * It is what `Response` means for fetch handlers on tsgi: `fromFetch()` puts it in place of the
 * global `Response` (see `installFetchResponse`), as @hono/node-server does for Hono on Node.
 * `instanceof Response` holds for it and for standard Responses alike.
 */

const StandardResponse = globalThis.Response;
const StandardHeaders = globalThis.Headers;

/** What the bridge can send without a standard Response in between. */
export type ResponseContent =
  | { kind: 'whole'; body: string | Uint8Array | null }
  | { kind: 'blob'; body: Blob }
  | { kind: 'stream'; body: ReadableStream<Uint8Array> };

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);
const REASON_PHRASE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** `init.status` as WebIDL's `unsigned short` reads it, then the range a Response allows. */
function statusOf(value: unknown): number {
  if (value === undefined) return 200;
  let status = Number(value);
  status = Number.isFinite(status) ? Math.trunc(status) % 65536 : 0;
  if (status < 0) status += 65536;
  if (status < 200 || status > 599) throw new RangeError(`Response constructor: init.status must be in the range of 200 to 599, inclusive; got ${String(value)}`);
  return status;
}

/** The Content-Type a standard Response gives a body of this kind when the init names none. */
function defaultContentType(body: unknown): string | null {
  if (typeof body === 'string') return 'text/plain;charset=UTF-8';
  if (body instanceof URLSearchParams) return 'application/x-www-form-urlencoded;charset=UTF-8';
  if (body instanceof Blob && body.type !== '') return body.type;
  return null;
}

/** A body kept as given: a string, bytes, a Blob, a stream, null, or something for the standard Response. */
function keptBody(body: unknown): unknown {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string' || typeof body === 'object' || typeof body === 'function') return body;
  // Numbers, booleans, …: a standard Response sends their string form.
  return String(body);
}

interface Init {
  status?: unknown;
  statusText?: unknown;
  headers?: unknown;
}

export class FetchResponse {
  readonly #body: unknown;
  readonly #status: number;
  readonly #statusText: string;
  /** `init.headers` as given, read when the response is sent or its headers are asked for. */
  readonly #initHeaders: unknown;
  #headers: Headers | null = null;
  /** The standard Response, once something needed one. */
  #standard: Response | null = null;

  constructor(body?: unknown, init?: Init | null) {
    const kept = keptBody(body);
    this.#body = kept;
    this.#status = statusOf(init?.status);
    const statusText = init?.statusText === undefined ? '' : String(init.statusText);
    if (statusText !== '' && !REASON_PHRASE.test(statusText)) throw new TypeError(`Response constructor: init.statusText ${JSON.stringify(statusText)} is not a valid reason phrase`);
    this.#statusText = statusText;
    this.#initHeaders = init?.headers;
    if (kept !== null && NULL_BODY_STATUSES.has(this.#status)) {
      throw new TypeError(`Response constructor: a response with status ${this.#status} cannot have a body`);
    }
    if (kept instanceof ReadableStream && kept.locked) {
      throw new TypeError('Response constructor: the body stream is locked (being read elsewhere)');
    }
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    // `x instanceof Response` (this class in the global's place) holds for standard Responses
    // too; a subclass keeps the ordinary prototype check.
    if (this === FetchResponse) return Function.prototype[Symbol.hasInstance].call(StandardResponse, value);
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  static json(data: unknown, init?: Init): FetchResponse {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError('Response.json: the data is not JSON serializable');
    const headers = new StandardHeaders(init?.headers as Headers | undefined);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
    return new FetchResponse(text, { status: init?.status, statusText: init?.statusText, headers });
  }

  get status(): number {
    return this.#status;
  }

  get ok(): boolean {
    return this.#status >= 200 && this.#status < 300;
  }

  get statusText(): string {
    return this.#statusText;
  }

  get headers(): Headers {
    if (this.#headers === null) {
      const headers = new StandardHeaders(this.#initHeaders as Headers | undefined);
      const type = defaultContentType(this.#body);
      if (type !== null && !headers.has('content-type')) headers.set('content-type', type);
      this.#headers = headers;
    }
    return this.#headers;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#real().body;
  }

  get bodyUsed(): boolean {
    return this.#standard !== null && this.#standard.bodyUsed;
  }

  clone(): FetchResponse {
    if (this.bodyUsed) throw new TypeError('Response.clone: the body has already been read');
    const init = { status: this.#status, statusText: this.#statusText, headers: new StandardHeaders(this.headers) };
    const body = this.#body;
    // A body that is read whole is shared (strings, Blobs and bytes are sent as they are); a
    // stream is split in two, as a standard clone does.
    if (this.#standard === null && !(body instanceof ReadableStream) && isSentWhole(body)) return new FetchResponse(body, init);
    return new FetchResponse(this.#real().clone().body, init);
  }

  /** The standard Response for this one, made once, with the same status, headers and body. */
  #real(): Response {
    return (this.#standard ??= new StandardResponse(this.#body as ConstructorParameters<typeof Response>[0], {
      status: this.#status,
      statusText: this.#statusText,
      headers: this.headers,
    }));
  }

  /**
   * What the bridge sends: the status, the header list and the body as kept, or null for the
   * body when a standard Response had to be made (its stream is then the body).
   */
  static contentOf(response: FetchResponse): { status: number; headers: Headers | null; initHeaders: unknown; content: ResponseContent; defaultType: string | null } {
    const body = response.#body;
    let content: ResponseContent;
    if (response.#standard !== null) {
      const stream = response.#standard.body;
      content = stream === null ? { kind: 'whole', body: null } : { kind: 'stream', body: stream };
    } else if (body === null || typeof body === 'string' || body instanceof Uint8Array) {
      content = { kind: 'whole', body: body as string | Uint8Array | null };
    } else if (body instanceof ArrayBuffer) {
      content = { kind: 'whole', body: new Uint8Array(body) };
    } else if (ArrayBuffer.isView(body)) {
      content = { kind: 'whole', body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
    } else if (body instanceof URLSearchParams) {
      content = { kind: 'whole', body: body.toString() };
    } else if (body instanceof Blob) {
      content = { kind: 'blob', body };
    } else if (body instanceof ReadableStream) {
      content = { kind: 'stream', body: body as ReadableStream<Uint8Array> };
    } else {
      // FormData, async iterables, objects sent as their string form: the standard Response knows how.
      const stream = response.#real().body;
      content = stream === null ? { kind: 'whole', body: null } : { kind: 'stream', body: stream };
    }
    return { status: response.#status, headers: response.#headers, initHeaders: response.#initHeaders, content, defaultType: defaultContentType(body) };
  }

  /** Whether `value` is one of these (a brand check: subclass instances count, standard Responses do not). */
  static isOne(value: unknown): value is FetchResponse {
    return typeof value === 'object' && value !== null && #body in value;
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `Response (tsgi) ${inspect({ status: this.#status, statusText: this.#statusText, headers: this.headers, body: this.#body }, { ...options, depth })}`;
  }

  static {
    const own = new Set(Reflect.ownKeys(FetchResponse.prototype));
    // Every other Response property (type, url, redirected, text(), json(), …) comes from the
    // standard Response.
    for (const key of Reflect.ownKeys(StandardResponse.prototype)) {
      if (own.has(key) || key === 'constructor' || key === Symbol.toStringTag) continue;
      const descriptor = Reflect.getOwnPropertyDescriptor(StandardResponse.prototype, key)!;
      if (typeof descriptor.value === 'function') {
        const method = descriptor.value as (...args: unknown[]) => unknown;
        Object.defineProperty(FetchResponse.prototype, key, {
          configurable: true,
          writable: true,
          value(this: FetchResponse, ...args: unknown[]) {
            return method.apply(this.#real(), args);
          },
        });
      } else if (descriptor.get !== undefined) {
        const get = descriptor.get;
        Object.defineProperty(FetchResponse.prototype, key, {
          configurable: true,
          get(this: FetchResponse) {
            return get.call(this.#real());
          },
        });
      }
    }
    // undici reads a Response's inner state through symbols (`new Response(x, response)` does
    // not, but structured internals might): answer them with the standard Response's.
    for (const key of Object.getOwnPropertySymbols(new StandardResponse(null))) {
      Object.defineProperty(FetchResponse.prototype, key, {
        configurable: true,
        get(this: FetchResponse) {
          return (this.#real() as unknown as Record<symbol, unknown>)[key];
        },
      });
    }
  }
}

function isSentWhole(body: unknown): boolean {
  return body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer || ArrayBuffer.isView(body) || body instanceof Blob || body instanceof URLSearchParams;
}

// instanceof Response, Response.prototype's toStringTag, and the static redirect() and error().
Object.setPrototypeOf(FetchResponse.prototype, StandardResponse.prototype);
Object.setPrototypeOf(FetchResponse, StandardResponse);

/** The global `Response` before tsgi put FetchResponse in its place. */
export { StandardResponse };

/**
 * Puts FetchResponse in the place of the global `Response`, for this process (idempotent).
 * Responses made from then on by `new Response(...)` (Hono's `c.text()`, `c.json()`, …) are
 * FetchResponses; `fetch()` and `Response.redirect()`/`error()` still give standard ones, and
 * `instanceof Response` holds for both.
 */
export function installFetchResponse(): void {
  if (globalThis.Response === (FetchResponse as unknown as typeof Response)) return;
  Object.defineProperty(globalThis, 'Response', { value: FetchResponse, writable: true, configurable: true, enumerable: false });
}
