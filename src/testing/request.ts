/**
 * Turns `client.fetch(path, init)` into the request a server would have parsed: method, target
 * (path as given, percent-encoding intact, and query), headers in order with lower-case names,
 * and the body as bytes or as a stream. The environ and the scopes are built from this.
 */

/** What `new Headers()` takes: a Headers object, `[name, value]` pairs, or a record. */
export type HeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;
/** What `fetch()` takes as a body (Node's globals have no DOM lib to name it). */
export type BodyInit = NonNullable<NonNullable<ConstructorParameters<typeof Request>[1]>['body']>;

/** What a request body may be: anything `fetch()` takes, or an async iterable of chunks (streamed). */
export type TestRequestBody = BodyInit | AsyncIterable<Uint8Array | string>;

export interface TestRequestInit {
  /** `GET` unless given; standard methods are upper-cased as `fetch()` does. */
  method?: string;
  /** Request headers; they replace the client's default headers of the same name. */
  headers?: HeadersInit;
  /**
   * A string, bytes, `URLSearchParams`, `FormData` or `Blob` (sent with a `Content-Length`, and the
   * `Content-Type` `fetch()` would give it), or a `ReadableStream` / async iterable of chunks (sent
   * chunked: a stream-mode app receives the chunks as they come).
   */
  body?: TestRequestBody | null;
  /** A value sent as JSON: the body is `JSON.stringify(json)`, `Content-Type: application/json`. */
  json?: unknown;
}

export type BodySource =
  | { readonly kind: 'none' }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'stream'; readonly stream: ReadableStream<Uint8Array> };

export interface PreparedRequest {
  readonly method: string;
  /** `http`/`https` (the websocket scheme is derived from it). */
  readonly scheme: 'http' | 'https';
  readonly hostname: string;
  readonly port: number;
  /** The path as sent: percent-encoding intact, no query. */
  readonly rawPath: string;
  /** The query as sent, without `?`. */
  readonly query: string;
  /** Every header as sent, names lower-case, in order. */
  readonly headers: [string, string][];
  readonly body: BodySource;
  /** The absolute URL, for `Response.url`. */
  readonly url: string;
}

const NO_BODY: BodySource = Object.freeze({ kind: 'none' });
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)/;
export const USER_AGENT = 'tsgi-testclient';

export interface Target {
  readonly url: URL;
  readonly rawPath: string;
  readonly query: string;
}

/**
 * The request target. A path is taken as given (dot segments and `%2F` survive, as on the wire);
 * only characters that cannot appear in a request line (spaces, controls, non-ASCII, quotes, …)
 * are percent-encoded, as any HTTP client does. A relative path is appended to `base`'s path.
 */
export function resolveTarget(input: string | URL, base: URL): Target {
  let text = input instanceof URL ? input.href : String(input);
  const hash = text.indexOf('#');
  if (hash !== -1) text = text.slice(0, hash);
  let origin: URL;
  let target: string;
  const absolute = SCHEME.exec(text);
  if (absolute !== null) {
    try {
      origin = new URL(absolute[0]);
    } catch {
      throw new TypeError(`TestClient cannot parse the URL ${JSON.stringify(text)}`);
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(origin.protocol)) {
      throw new TypeError(`TestClient requests need an http(s) URL or a path; got ${JSON.stringify(text)}`);
    }
    target = text.slice(absolute[0].length);
  } else {
    origin = base;
    const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
    target = text.startsWith('/') ? prefix + text : text.startsWith('?') ? (base.pathname + text) : `${prefix}/${text}`;
  }
  const mark = target.indexOf('?');
  let rawPath = mark === -1 ? target : target.slice(0, mark);
  const query = mark === -1 ? '' : encodeQuery(target.slice(mark + 1));
  if (rawPath === '') rawPath = '/';
  return { url: origin, rawPath: encodePath(rawPath), query };
}

/** WHATWG's path percent-encode set, minus `%`: escapes already in the path stay as they are. */
function encodePath(path: string): string {
  return path.replace(/[^\x21-\x7e]|["<>`{}]/gu, encodeURIComponent);
}

function encodeQuery(query: string): string {
  return query.replace(/[^\x21-\x7e]|["<>]/gu, encodeURIComponent);
}

export function normaliseMethod(method: string | undefined): string {
  const given = method ?? 'GET';
  if (typeof given !== 'string' || !TOKEN.test(given)) {
    throw new TypeError(`the request method must be an HTTP token such as 'GET'; got ${JSON.stringify(given)}`);
  }
  const upper = given.toUpperCase();
  return NORMALISED_METHODS.has(upper) ? upper : given;
}

/** Header pairs with lower-case names, checked as `fetch()` checks them. */
export function headerPairs(init: HeadersInit | undefined): [string, string][] {
  if (init === undefined) return [];
  const out: [string, string][] = [];
  const add = (name: string, value: string): void => {
    // One pair at a time through Headers: it validates name and value and trims the value,
    // without merging duplicates the way iterating a Headers object would.
    for (const [key, checked] of new Headers([[name, value]])) out.push([key, checked]);
  };
  if (init instanceof Headers) {
    for (const [name, value] of init) out.push([name, value]);
  } else if (Array.isArray(init) || isIterable(init)) {
    for (const pair of init as Iterable<readonly string[]>) {
      if (pair.length !== 2) throw new TypeError('request headers must be [name, value] pairs');
      add(String(pair[0]), String(pair[1]));
    }
  } else {
    for (const [name, value] of Object.entries(init)) add(name, String(value));
  }
  return out;
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function';
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function';
}

/** The request body, and the Content-Type `fetch()` would derive for it (null: none). */
async function prepareBody(init: TestRequestInit): Promise<{ body: BodySource; contentType: string | null }> {
  if (init.json !== undefined) {
    if (init.body !== undefined && init.body !== null) throw new TypeError('a request takes either body or json, not both');
    const text = JSON.stringify(init.json);
    if (text === undefined) throw new TypeError(`json must be a value JSON can encode; got ${typeof init.json}`);
    return { body: { kind: 'bytes', bytes: Buffer.from(text, 'utf8') }, contentType: 'application/json' };
  }
  const body = init.body;
  if (body === undefined || body === null) return { body: NO_BODY, contentType: null };
  if (body instanceof ReadableStream) return { body: { kind: 'stream', stream: body as ReadableStream<Uint8Array> }, contentType: null };
  if (isAsyncIterable(body)) return { body: { kind: 'stream', stream: streamOf(body as AsyncIterable<Uint8Array | string>) }, contentType: null };
  // fetch's own body extraction: strings, bytes, URLSearchParams, FormData, Blob, with their types.
  const request = new Request('http://body.invalid/', { method: 'POST', body: body as BodyInit });
  const bytes = new Uint8Array(await request.arrayBuffer());
  return { body: { kind: 'bytes', bytes }, contentType: request.headers.get('content-type') };
}

/** An async iterable of chunks as a byte stream, pulled one chunk per read. */
function streamOf(source: AsyncIterable<Uint8Array | string>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array | string> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        iterator ??= source[Symbol.asyncIterator]();
        const step = await iterator.next();
        if (step.done === true) controller.close();
        else controller.enqueue(typeof step.value === 'string' ? Buffer.from(step.value, 'utf8') : step.value);
      },
      async cancel() {
        await iterator?.return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

function hasHeader(headers: readonly [string, string][], name: string): boolean {
  return headers.some(([key]) => key === name);
}

export interface PrepareOptions {
  readonly base: URL;
  readonly defaultHeaders: readonly [string, string][];
  /** The jar's `Cookie` value for this URL (null: none). */
  readonly cookie: (scheme: 'http' | 'https', hostname: string, path: string) => string | null;
}

/** What TestRequestInit takes; anything else from fetch()'s init is refused rather than ignored. */
const INIT_KEYS = new Set(['method', 'headers', 'body', 'json']);

function refuseUnknownInit(init: TestRequestInit): void {
  for (const key of Object.keys(init)) {
    if (INIT_KEYS.has(key) || (init as Record<string, unknown>)[key] === undefined) continue;
    const why =
      key === 'redirect'
        ? 'redirects are never followed: a 3xx is the Response you get (follow Location yourself)'
        : key === 'signal'
          ? 'requests run to their end: cancel the response body (response.body.cancel()) to make the app see a disconnect'
          : 'it takes method, headers, body and json';
    throw new TypeError(`TestClient requests do not take ${JSON.stringify(key)}: ${why}`);
  }
}

export async function prepareRequest(input: string | URL, init: TestRequestInit, options: PrepareOptions): Promise<PreparedRequest> {
  refuseUnknownInit(init);
  const method = normaliseMethod(init.method);
  const target = resolveTarget(input, options.base);
  const scheme = target.url.protocol === 'https:' || target.url.protocol === 'wss:' ? 'https' : 'http';
  const own = headerPairs(init.headers);
  const { body, contentType } = await prepareBody(init);
  if (body.kind !== 'none' && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError(`a ${method} request cannot have a body (fetch() refuses it too); use POST or PUT`);
  }
  const ownNames = new Set(own.map(([name]) => name));
  const headers: [string, string][] = [];
  if (!ownNames.has('host')) headers.push(['host', target.url.host]);
  for (const pair of options.defaultHeaders) if (!ownNames.has(pair[0])) headers.push([pair[0], pair[1]]);
  if (!ownNames.has('user-agent') && !hasHeader(headers, 'user-agent')) headers.push(['user-agent', USER_AGENT]);
  headers.push(...own);
  if (contentType !== null && !hasHeader(headers, 'content-type')) headers.push(['content-type', contentType]);
  if (body.kind === 'bytes') {
    // The length is the body's, whatever was given: a wrong one would misframe the request.
    for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0] === 'content-length') headers.splice(i, 1);
    headers.push(['content-length', String(body.bytes.byteLength)]);
  } else if (body.kind === 'stream') {
    if (!hasHeader(headers, 'content-length') && !hasHeader(headers, 'transfer-encoding')) headers.push(['transfer-encoding', 'chunked']);
  } else if ((method === 'POST' || method === 'PUT' || method === 'PATCH') && !hasHeader(headers, 'content-length')) {
    // As fetch(): a method that expects a body says it has none.
    headers.push(['content-length', '0']);
  }
  const hostname = target.url.hostname.startsWith('[') ? target.url.hostname.slice(1, -1) : target.url.hostname;
  const port = target.url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(target.url.port);
  const cookie = options.cookie(scheme, hostname, target.rawPath);
  if (cookie !== null) {
    const index = headers.findIndex(([name]) => name === 'cookie');
    if (index === -1) headers.push(['cookie', cookie]);
    else headers[index] = ['cookie', `${headers[index]![1]}; ${cookie}`];
  }
  const url = `${scheme}://${target.url.host}${target.rawPath}${target.query === '' ? '' : '?' + target.query}`;
  return { method, scheme, hostname, port, rawPath: target.rawPath, query: target.query, headers, body, url };
}
