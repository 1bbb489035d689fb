/**
 * The http scope (docs/spec.md §10) of a fetch `Request`, as Deno, Bun, Workers or any fetch
 * host gives it. A Request knows less than a socket: no HTTP version (taken as 1.1), repeated
 * headers already joined with ', ' by `Headers` (Set-Cookie aside), and the client only where the
 * host passes it next to the request.
 */
import { decodePath } from '../../core/path.js';
import { HTTP_ASGI } from '../../event/scope.js';
import type { EventHeader, HttpScope } from '../../spec/event-types.js';

const NO_EXTENSIONS = Object.freeze({}) as Record<string, Record<string, unknown>>;

export type ClientAddress = [host: string, port: number];

/**
 * The client as the usual hosts pass it after the request: Deno.serve's `info.remoteAddr`, Bun's
 * `server.requestIP(request)`. Null elsewhere (Workers name it in a header, which the app can read).
 */
export function platformClient(request: Request, platform: readonly unknown[]): ClientAddress | null {
  const second = platform[0] as { remoteAddr?: { hostname?: unknown; port?: unknown }; requestIP?: unknown } | null | undefined;
  if (second === null || typeof second !== 'object') return null;
  const remote = second.remoteAddr;
  if (remote !== null && typeof remote === 'object' && typeof remote.hostname === 'string') {
    return [remote.hostname, typeof remote.port === 'number' ? remote.port : 0];
  }
  if (typeof second.requestIP === 'function') {
    const address = (second.requestIP as (request: Request) => { address?: unknown; port?: unknown } | null).call(second, request);
    if (address !== null && typeof address === 'object' && typeof address.address === 'string') {
      return [address.address, typeof address.port === 'number' ? address.port : 0];
    }
  }
  return null;
}

function defaultPort(scheme: string): number {
  return scheme === 'https' ? 443 : 80;
}

export function scopeFromRequest(request: Request, url: URL, client: ClientAddress | null, state: Record<string, unknown>): HttpScope {
  const scheme = url.protocol === 'https:' ? 'https' : 'http';
  const headers: EventHeader[] = [];
  let hasHost = false;
  request.headers.forEach((value, name) => {
    if (name === 'host') hasHost = true;
    headers.push([name, value]);
  });
  // Every HTTP/1.1 request names its host; a Request built in code may not carry the header.
  if (!hasHost) headers.unshift(['host', url.host]);
  const rawPath = url.pathname;
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    type: 'http',
    asgi: HTTP_ASGI,
    http_version: '1.1',
    method: request.method,
    scheme,
    path: decodePath(rawPath),
    raw_path: rawPath,
    query_string: url.search.slice(1),
    root_path: '',
    headers,
    client,
    server: [hostname, url.port === '' ? defaultPort(scheme) : Number(url.port)],
    state,
    // A fetch Response has no trailers.
    extensions: NO_EXTENSIONS,
  };
}
