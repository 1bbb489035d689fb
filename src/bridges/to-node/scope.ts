/**
 * The http scope (docs/spec.md §10) of a request a Node server hands to a listener. When a
 * framework mounted the listener under a prefix (Express's `app.use('/x', listener)`, connect's
 * `app.use('/x', listener)`), it cut the prefix from `req.url` and kept the whole target in
 * `req.originalUrl`: the prefix becomes `root_path`, as tsgi's own `mount` does it (SCRIPT_NAME).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { decodePath } from '../../core/path.js';
import { HTTP_ASGI } from '../../event/scope.js';
import type { EventHeader, HttpScope } from '../../spec/event-types.js';

// Shared and frozen: an app cannot change what the bridge supports for everyone else.
const NO_EXTENSIONS = Object.freeze({}) as Record<string, Record<string, unknown>>;
const WITH_TRAILERS = Object.freeze({ 'http.response.trailers': Object.freeze({}) }) as Record<string, Record<string, unknown>>;

/** What Express and connect add to a request they route. */
interface RoutedRequest {
  baseUrl?: unknown;
  originalUrl?: unknown;
}

function splitTarget(target: string): [path: string, query: string] {
  const mark = target.indexOf('?');
  return mark === -1 ? [target, ''] : [target.slice(0, mark), target.slice(mark + 1)];
}

/**
 * The raw prefix a framework cut from the path, and the raw path below it. Express says which
 * prefix (`req.baseUrl`); connect does not, so it is what `originalUrl` has in front of `url`.
 * Taking the remainder from `originalUrl` keeps tsgi's mount rule: `/x` itself has an empty
 * path below the prefix, `/x/` has `/` (Express turns both into `/`).
 */
export function mountedPath(req: IncomingMessage): [rawRoot: string, rawPath: string] {
  const [current] = splitTarget(req.url ?? '/');
  const { baseUrl, originalUrl } = req as IncomingMessage & RoutedRequest;
  if (typeof originalUrl !== 'string' || originalUrl === req.url) return ['', current];
  const [original] = splitTarget(originalUrl);
  let root: string | null = null;
  if (typeof baseUrl === 'string') {
    if (original.startsWith(baseUrl)) root = baseUrl;
  } else if (current === '/' && !original.endsWith('/')) {
    root = original;
  } else if (original.endsWith(current)) {
    root = original.slice(0, original.length - current.length);
  }
  if (root === null) return ['', current];
  return [root, original.slice(root.length)];
}

function headersOf(req: IncomingMessage): EventHeader[] {
  const raw = req.rawHeaders;
  const headers: EventHeader[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers (node:http2's compatibility API) are not headers.
    if (name.charCodeAt(0) === 58 /* : */) continue;
    headers.push([name.toLowerCase(), raw[i + 1]!]);
  }
  return headers;
}

export function scopeFromNodeRequest(req: IncomingMessage, state: Record<string, unknown>): HttpScope {
  const [rawRoot, rawPath] = mountedPath(req);
  const [, query] = splitTarget(req.url ?? '/');
  const socket = req.socket as (TLSSocket & { encrypted?: boolean }) | null;
  const http10 = req.httpVersion === '1.0';
  return {
    type: 'http',
    asgi: HTTP_ASGI,
    http_version: http10 ? '1.0' : '1.1',
    method: req.method ?? 'GET',
    scheme: socket?.encrypted === true ? 'https' : 'http',
    path: decodePath(rawPath),
    raw_path: rawPath,
    query_string: query,
    root_path: decodePath(rawRoot),
    headers: headersOf(req),
    client: socket?.remoteAddress === undefined ? null : [socket.remoteAddress, socket.remotePort ?? 0],
    server: socket?.localAddress === undefined ? null : [socket.localAddress, socket.localPort ?? null],
    state,
    // Node sends trailers on a chunked HTTP/1.1 response only.
    extensions: http10 ? NO_EXTENSIONS : WITH_TRAILERS,
  };
}
