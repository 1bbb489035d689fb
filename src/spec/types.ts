/**
 * The tsgi gateway contract, as types. docs/spec.md is the prose version of this file;
 * when the two disagree, fix whichever is wrong, never both silently.
 */

/** A response header as the app gives it: `[name, value]`, both strings. */
export type HeaderPair = readonly [name: string, value: string];

/** One body chunk: a string is sent as UTF-8. */
export type BodyChunk = string | Uint8Array;

/** What `sys.exc_info()` is in PEP 3333: here simply the caught error. */
export type ExcInfo = unknown;

/** The legacy imperative write returned by `startResponse` (PEP 3333's `write()`). */
export type WriteFunction = (chunk: BodyChunk) => void;

/**
 * `startResponse(status, headers, excInfo?)`: `status` is `'200 OK'` (three digits, a space, a
 * reason), `headers` a list of `[name, value]` pairs. Calling it twice is an error unless `excInfo`
 * is given; with `excInfo` after the headers went out, `excInfo` is re-thrown.
 */
export type StartResponse = (
  status: string,
  headers: readonly HeaderPair[],
  excInfo?: ExcInfo,
) => WriteFunction;

/** The request body as the app sees it: `environ['tsgi.input']`. */
export interface InputStream extends AsyncIterable<Uint8Array> {
  /**
   * Up to `size` bytes (all remaining when `size` is omitted or negative); an empty array at the
   * end. Synchronous: works when the body was buffered before the app was called (see
   * docs/spec.md, "Request bodies"); on a streamed body it throws and says to use `for await`.
   */
  read(size?: number): Uint8Array;
  /** One line including its `\n` (at most `size` bytes); an empty array at the end. */
  readline(size?: number): Uint8Array;
  /** The remaining lines; stops once `hint` bytes have been collected, when `hint` > 0. */
  readlines(hint?: number): Uint8Array[];
}

/** `environ['tsgi.errors']`: text written here goes to the server's error log (stderr). */
export interface ErrorStream {
  write(text: string): void;
  writelines(lines: Iterable<string>): void;
  flush(): void;
}

/**
 * The environ: a plain object with PEP 3333's CGI keys (strings), one `HTTP_*` key per request
 * header, and the `tsgi.*` keys.
 */
export interface Environ {
  REQUEST_METHOD: string;
  SCRIPT_NAME: string;
  PATH_INFO: string;
  QUERY_STRING: string;
  CONTENT_TYPE?: string;
  CONTENT_LENGTH?: string;
  SERVER_NAME: string;
  SERVER_PORT: string;
  SERVER_PROTOCOL: string;
  REMOTE_ADDR: string;
  REMOTE_PORT: string;
  'tsgi.version': readonly [number, number];
  'tsgi.url_scheme': 'http' | 'https';
  'tsgi.input': InputStream;
  'tsgi.errors': ErrorStream;
  'tsgi.multithread': boolean;
  'tsgi.multiprocess': boolean;
  'tsgi.run_once': boolean;
  /** The request target's path exactly as received: percent-encoding intact, no query. */
  'tsgi.raw_path': string;
  /** `HTTP_*` headers, and any key middleware adds. */
  [key: string]: unknown;
}

/** A synchronous body: any iterable of chunks (an array is the fast path). */
export type SyncBody = Iterable<BodyChunk>;
/** What an async app may resolve to or return: an iterable or an async iterable of chunks. */
export type AnyBody = Iterable<BodyChunk> | AsyncIterable<BodyChunk>;

/** A body may carry `close()`, which the server calls exactly once when the response ends. */
export interface Closable {
  close(): void | Promise<void>;
}

/**
 * A gateway app. Synchronous apps return an iterable of chunks; async apps return a promise of an
 * iterable or of an async iterable, or an async iterable directly.
 */
export type GatewayApp = (
  environ: Environ,
  startResponse: StartResponse,
) => AnyBody | Promise<AnyBody>;

/**
 * How an app receives a request body. `'buffered'`: the server reads the whole body (up to the
 * limit) before calling the app, so the synchronous `read()` family works. `'stream'`: the app
 * is called as soon as the request head arrives and iterates `tsgi.input` with backpressure.
 * Set it on the app as `app.tsgiInput`; without it, `async function` apps stream and others are
 * buffered.
 */
export type InputMode = 'buffered' | 'stream';
