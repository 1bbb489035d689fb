/**
 * An http scope (docs/spec.md §10) built from an environ (§2), for running an event app where a
 * gateway app is expected. Headers come back from the `HTTP_*` keys (lower-case, `_` → `-`);
 * repeated headers arrive joined, as the environ holds them.
 */
import type { EventHeader, HttpScope } from '../spec/event-types.js';
import type { Environ } from '../spec/types.js';

const ASGI = Object.freeze({ version: '3.0', spec_version: '2.5' } as const);

export function scopeFromEnviron(environ: Environ): HttpScope {
  const headers: EventHeader[] = [];
  for (const key of Object.keys(environ)) {
    const value = environ[key];
    if (typeof value !== 'string') continue;
    if (key.startsWith('HTTP_')) headers.push([key.slice(5).toLowerCase().replace(/_/g, '-'), value]);
    else if (key === 'CONTENT_TYPE') headers.push(['content-type', value]);
    else if (key === 'CONTENT_LENGTH') headers.push(['content-length', value]);
  }
  const rawPath = environ['tsgi.raw_path'];
  const port = Number(environ.SERVER_PORT);
  return {
    type: 'http',
    asgi: ASGI,
    http_version: environ.SERVER_PROTOCOL === 'HTTP/1.0' ? '1.0' : '1.1',
    method: environ.REQUEST_METHOD,
    scheme: environ['tsgi.url_scheme'] === 'https' ? 'https' : 'http',
    path: environ.PATH_INFO,
    // A host that gives no raw path (it is a tsgi key, not a CGI one): re-encode the decoded one.
    raw_path: typeof rawPath === 'string' ? rawPath : encodeURI(environ.PATH_INFO),
    query_string: environ.QUERY_STRING ?? '',
    root_path: environ.SCRIPT_NAME ?? '',
    headers,
    client: environ.REMOTE_ADDR ? [environ.REMOTE_ADDR, Number(environ.REMOTE_PORT) || 0] : null,
    server: [environ.SERVER_NAME, environ.SERVER_PORT === '' || !Number.isFinite(port) ? null : port],
    state: {},
    // No trailers: the gateway interface has no way to send them.
    extensions: {},
  };
}
