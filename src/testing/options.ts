/**
 * The TestClient's options and their defaults. Everything a request needs from the client is
 * resolved once here, so each exchange reads plain values.
 */
import { DEFAULT_MAX_BODY_SIZE } from '../spec/constants.js';
import type { HeadersInit } from './request.js';

export type LifespanChoice = 'auto' | 'on' | 'off';

export interface TestClientOptions {
  /**
   * The URL requests are made against (default `'http://testserver'`). Its scheme becomes
   * `tsgi.url_scheme` / `scope.scheme` (`https` as if over TLS), its host the `Host` header,
   * `SERVER_NAME` and `SERVER_PORT` (80 or 443 unless it names a port). A path in it is a prefix
   * for relative request paths.
   */
  baseUrl?: string;
  /** Keep a cookie jar: `Set-Cookie` answers are stored and sent back as `Cookie` (default false). */
  cookies?: boolean;
  /** Run the app under the contract validator and fail the test on a violation (default true). */
  validate?: boolean;
  /**
   * An error the app raises before its response started rejects the request with that very error
   * (default true). `false`: the client answers `500 Internal Server Error` as the server would.
   */
  raiseServerExceptions?: boolean;
  /** The peer the app sees: `REMOTE_ADDR`/`REMOTE_PORT`, `scope.client` (default `['127.0.0.1', 50000]`). */
  client?: readonly [host: string, port: number];
  /** Headers sent with every request; a request's own header of the same name replaces one. */
  headers?: HeadersInit;
  /** Largest request body read for a buffered gateway app, as the server's `--max-body-size`; 413 beyond (default 1 MiB). */
  maxBodySize?: number;
  /** The lifespan protocol for event apps, as the server's `--lifespan` (default `'auto'`). */
  lifespan?: LifespanChoice;
}

export interface ResolvedOptions {
  readonly base: URL;
  readonly cookies: boolean;
  readonly validate: boolean;
  readonly raiseServerExceptions: boolean;
  readonly client: [string, number];
  readonly headers: [string, string][];
  readonly maxBodySize: number;
  readonly lifespan: LifespanChoice;
}

export const DEFAULT_BASE_URL = 'http://testserver';
const DEFAULT_CLIENT: readonly [string, number] = ['127.0.0.1', 50000];

export function resolveOptions(options: TestClientOptions = {}): ResolvedOptions {
  let base: URL;
  try {
    base = new URL(options.baseUrl ?? DEFAULT_BASE_URL);
  } catch {
    throw new TypeError(`TestClient baseUrl must be an absolute http(s) URL such as 'http://testserver'; got ${JSON.stringify(options.baseUrl)}`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError(`TestClient baseUrl must use http: or https: (ws: and wss: follow from it); got ${JSON.stringify(options.baseUrl)}`);
  }
  const client = options.client ?? DEFAULT_CLIENT;
  if (!Array.isArray(client) || typeof client[0] !== 'string' || !Number.isInteger(client[1]) || client[1] < 0 || client[1] > 65535) {
    throw new TypeError(`TestClient client must be [address, port], e.g. ['127.0.0.1', 50000]; got ${JSON.stringify(client)}`);
  }
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (typeof maxBodySize !== 'number' || !(maxBodySize >= 0)) {
    throw new TypeError(`TestClient maxBodySize must be a non-negative number of bytes; got ${JSON.stringify(options.maxBodySize)}`);
  }
  const lifespan = options.lifespan ?? 'auto';
  if (lifespan !== 'auto' && lifespan !== 'on' && lifespan !== 'off') {
    throw new TypeError(`TestClient lifespan must be 'auto', 'on' or 'off'; got ${JSON.stringify(lifespan)}`);
  }
  return {
    base,
    cookies: options.cookies === true,
    validate: options.validate !== false,
    raiseServerExceptions: options.raiseServerExceptions !== false,
    client: [client[0], client[1]],
    // Through Headers: names and values are checked as a fetch() would check them.
    headers: [...new Headers(options.headers ?? {})],
    maxBodySize,
    lifespan,
  };
}
