/**
 * The `Request` a fetch handler gets: `instanceof Request`, with every property and method, but
 * built lazily. `method` and `url` are worked out from the scope on first read, `headers` answers
 * `get()`/`has()` from the scope's list (headers.ts), `text()`/`json()`/`arrayBuffer()`
 * read the body straight from `receive()`, and `signal` is made when first read. Anything else
 * (`clone()`, `formData()`, `cache`, …, or the request handed to `new Request(request)` or
 * `fetch(request)`) is answered by a standard `Request` made on first need from the same parts,
 * with the same streaming body and the same signal.
 *
 * A standard Request costs a URL parse, a Headers copy, an AbortSignal with its listeners and a
 * body stream on every request, though a typical handler reads only the method and the URL.
 */
import type { HttpScope } from '../../spec/event-types.js';
import { RequestBodySource } from './body.js';
import { ADOPT, RequestHeaders, SNAPSHOT } from './headers.js';
import { requestUrl } from './url.js';

const StandardRequest = globalThis.Request;

/** Methods a standard Request refuses; it is made as GET for them, the handler still sees the real one. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

function bodyUnusable(): TypeError {
  return new TypeError('Body is unusable: the request body has already been read');
}

/** A copy in an ArrayBuffer of its own (chunks may be views into a shared pool). */
function ownArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** UTF-8 with a leading byte order mark dropped, as `Body.text()` decodes. */
function utf8(bytes: Uint8Array): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The standard Request behind a lazy one, made now if need be (see lazyRequestsWork). */
export let standardRequestOf: (request: FetchRequest) => Request;

export class FetchRequest {
  readonly #scope: HttpScope;
  readonly #body: RequestBodySource;
  #url: string | null = null;
  #headers: RequestHeaders | null = null;
  #controller: AbortController | null = null;
  /** The standard Request, once something needed one. */
  #standard: Request | null = null;
  /** The standard Request owns the body (it was given our stream untouched). */
  #standardHasBody = false;
  /** Our body stream, once `body` was read. */
  #stream: ReadableStream<Uint8Array> | null = null;
  /** text(), json(), … took the body without a stream. */
  #readWhole = false;

  constructor(scope: HttpScope, body: RequestBodySource) {
    this.#scope = scope;
    this.#body = body;
  }

  get method(): string {
    return this.#scope.method;
  }

  get url(): string {
    return (this.#url ??= requestUrl(this.#scope));
  }

  get headers(): Headers {
    if (this.#headers === null) {
      if (this.#standard !== null) return this.#standard.headers;
      this.#headers = new RequestHeaders(this.#scope.headers);
    }
    return this.#headers as unknown as Headers;
  }

  /** Aborts when the client goes away before the response is complete. */
  get signal(): AbortSignal {
    if (this.#controller === null) {
      const controller = new AbortController();
      this.#controller = controller;
      this.#body.onClientGone((reason) => controller.abort(reason));
    }
    return this.#controller.signal;
  }

  get body(): ReadableStream<Uint8Array> | null {
    if (this.#standardHasBody) return this.#standard!.body;
    if (!this.#body.hasBody) return null;
    if (this.#stream === null) {
      if (this.#readWhole || !this.#body.claim()) {
        // Read whole already: a stream that is used up, as a standard body would be.
        this.#stream = new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
        void this.#stream.getReader();
      } else {
        this.#stream = this.#body.stream();
      }
    }
    return this.#stream;
  }

  get bodyUsed(): boolean {
    if (this.#readWhole) return true;
    if (this.#standardHasBody) return this.#standard!.bodyUsed;
    return this.#stream !== null && this.#body.streamTouched;
  }

  /** The whole body without a stream, or the standard Request's answer once it has the body. */
  #readBody<T>(standardRead: (request: Request) => Promise<T>, convert: (bytes: Uint8Array) => T): Promise<T> {
    if (this.#standardHasBody || this.#stream !== null) {
      try {
        return standardRead(this.#real());
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.#readWhole) return Promise.reject(bodyUnusable());
    if (!this.#body.hasBody) return Promise.resolve(convert(new Uint8Array(0)));
    if (!this.#body.claim()) return Promise.reject(bodyUnusable());
    this.#readWhole = true;
    return this.#body.readAll().then(convert);
  }

  text(): Promise<string> {
    return this.#readBody((request) => request.text(), utf8);
  }

  json(): Promise<unknown> {
    return this.#readBody(
      (request) => request.json(),
      (bytes) => JSON.parse(utf8(bytes)) as unknown,
    );
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#readBody((request) => request.arrayBuffer(), ownArrayBuffer);
  }

  bytes(): Promise<Uint8Array> {
    return this.#readBody(
      (request) => request.arrayBuffer().then((buffer) => new Uint8Array(buffer)),
      (bytes) => new Uint8Array(ownArrayBuffer(bytes)),
    );
  }

  blob(): Promise<Blob> {
    if (this.#readWhole) return Promise.reject(bodyUnusable());
    return this.#real().blob();
  }

  formData(): Promise<FormData> {
    if (this.#readWhole) return Promise.reject(bodyUnusable());
    return this.#real().formData();
  }

  clone(): Request {
    if (this.#readWhole) throw bodyUnusable();
    return this.#real().clone();
  }

  /** The standard Request for this one, made once: same method, URL, headers, body and signal. */
  #real(): Request {
    if (this.#standard !== null) return this.#standard;
    const method = this.#scope.method;
    const headers = this.#headers;
    const init: RequestInit & { duplex?: 'half' } = {
      method: FORBIDDEN_METHODS.has(method.toUpperCase()) ? 'GET' : method,
      headers: (headers === null ? this.#scope.headers : headers[SNAPSHOT]()) as Headers | [string, string][],
      signal: this.signal,
    };
    let ownBody = false;
    if (this.#body.hasBody && init.method !== 'GET') {
      const stream = this.#readWhole ? null : this.body;
      ownBody = stream !== null && !stream.locked && !this.#body.streamTouched;
      if (ownBody) {
        init.body = stream;
      } else {
        // Taken already: the standard Request gets a used-up body, so it refuses to be read or
        // copied again, as the original would.
        const used = new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
        void used.getReader();
        init.body = used;
      }
      // A stream body must say so (the Fetch standard's half duplex).
      init.duplex = 'half';
    }
    const standard = new StandardRequest(this.url, init);
    this.#standard = standard;
    this.#standardHasBody = ownBody;
    // Changes through the headers the handler holds now reach the standard Request's.
    headers?.[ADOPT](standard.headers);
    return standard;
  }

  [Symbol.for('nodejs.util.inspect.custom')](depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `Request (tsgi, lazy) ${inspect({ method: this.method, url: this.url, headers: this.headers }, { ...options, depth })}`;
  }

  static {
    standardRequestOf = (request) => request.#real();
    const own = new Set(Reflect.ownKeys(FetchRequest.prototype));
    // Every other Request property (cache, credentials, mode, …) comes from the standard Request.
    for (const key of Reflect.ownKeys(StandardRequest.prototype)) {
      if (own.has(key) || key === 'constructor' || key === Symbol.toStringTag) continue;
      const descriptor = Reflect.getOwnPropertyDescriptor(StandardRequest.prototype, key)!;
      if (typeof descriptor.value === 'function') {
        const method = descriptor.value as (...args: unknown[]) => unknown;
        Object.defineProperty(FetchRequest.prototype, key, {
          configurable: true,
          writable: true,
          value(this: FetchRequest, ...args: unknown[]) {
            return method.apply(this.#real(), args);
          },
        });
      } else if (descriptor.get !== undefined) {
        const get = descriptor.get;
        Object.defineProperty(FetchRequest.prototype, key, {
          configurable: true,
          get(this: FetchRequest) {
            return get.call(this.#real());
          },
        });
      }
    }
    // undici keeps a Request's inner state under symbols it reads from any Request it is given
    // (`new Request(request)`, `fetch(request)`): answer them with the standard Request's.
    for (const key of Object.getOwnPropertySymbols(new StandardRequest('http://localhost/'))) {
      Object.defineProperty(FetchRequest.prototype, key, {
        configurable: true,
        get(this: FetchRequest) {
          return (this.#real() as unknown as Record<symbol, unknown>)[key];
        },
      });
    }
  }
}

// instanceof Request, and Request.prototype's toStringTag.
Object.setPrototypeOf(FetchRequest.prototype, StandardRequest.prototype);

/**
 * Whether this platform's `new Request(request)` can take a lazy request: undici reads its input's
 * state through symbols (Node 20), which the lazy request answers; a `Request` that keeps it in
 * private fields cannot be answered. Where it cannot, the bridge gives handlers standard Requests.
 */
function lazyRequestsWork(): boolean {
  const scope: HttpScope = {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.5' },
    http_version: '1.1',
    scheme: 'http',
    method: 'GET',
    path: '/probe',
    raw_path: '/probe',
    query_string: '',
    root_path: '',
    headers: [
      ['host', 'localhost'],
      ['x-probe', 'yes'],
    ],
    client: null,
    server: null,
    state: {},
    extensions: {},
  };
  const noBody = new RequestBodySource(() => Promise.resolve({ type: 'http.request', body: new Uint8Array(0), more_body: false }), false);
  const probe = new FetchRequest(scope, noBody);
  try {
    const copy = new StandardRequest(probe as unknown as Request);
    return copy.url === 'http://localhost/probe' && copy.headers.get('x-probe') === 'yes';
  } catch {
    return false;
  }
}

export const LAZY_REQUESTS_WORK = lazyRequestsWork();
