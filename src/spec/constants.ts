/** Constants of the tsgi contract; docs/spec.md explains each. */

/** `environ['tsgi.version']`. */
export const TSGI_VERSION: readonly [number, number] = Object.freeze([1, 0]) as readonly [number, number];

/**
 * Connection-level ("hop-by-hop") headers. They describe one connection, which only the server
 * manages, so an app that sets one gets a 500 instead of a response that could desync framing.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

/** Default cap on a request body the server buffers for an app (1 MiB). */
export const DEFAULT_MAX_BODY_SIZE = 1024 * 1024;

/** Default cap on the request line plus headers (16 KiB, as Node's http). */
export const DEFAULT_MAX_HEADER_SIZE = 16 * 1024;

/** The product token sent in `Server` unless the app sets its own. */
export const SERVER_SOFTWARE = 'tsgi';

/**
 * Connection timeouts, in seconds: a keep-alive connection idle between requests (uvicorn's
 * default), a request head that trickles in (slowloris), a request body that stops arriving.
 */
export const DEFAULT_TIMEOUT_KEEP_ALIVE = 5;
export const DEFAULT_TIMEOUT_HEAD = 10;
export const DEFAULT_TIMEOUT_BODY = 30;
/** The longest request line (method, target, version) before 414; nginx's and gunicorn's 8 KiB. */
export const DEFAULT_LIMIT_REQUEST_LINE = 8190;
/** Header fields a request may carry (gunicorn's limit_request_fields); 431 beyond. */
export const DEFAULT_LIMIT_REQUEST_FIELDS = 100;
/** The accept queue asked of the kernel (gunicorn's and uvicorn's default). */
export const DEFAULT_BACKLOG = 2048;
