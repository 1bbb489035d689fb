/**
 * `request.url` for a fetch handler: exactly what the WHATWG URL parser would make of the scope's
 * scheme, Host header, raw path and query (`new URL(...).href`), built without the parser when
 * the parts are already in the form it would give back. A fetch handler reads the URL on every
 * request (Hono routes on it), so this is on the hot path; anything unusual takes the parser.
 */
import { headerOf } from '../../event/headers.js';
import type { HttpScope } from '../../spec/event-types.js';

/** A Host the client sent that no URL can be made of: the bridge answers 400. */
export class RequestUrlError extends TypeError {
  override name = 'RequestUrlError';
}

// Lower-case DNS names whose labels start with a letter (a last label of digits would be read as
// an IPv4 address), or a dotted quad in its canonical form; then an optional port without a
// leading zero. The parser returns these unchanged (default ports aside, checked below).
const PLAIN_NAME = /^(?:[a-z][a-z0-9-]*\.)*[a-z][a-z0-9-]*$/;
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const PLAIN_IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);
const PLAIN_PORT = /^[1-9][0-9]{0,4}$/;
// Characters the parser leaves alone in a path and a query (no percent-encoding, no backslash,
// no dot segments: see below). `'` is encoded in the query of http(s) URLs, so it is not here.
const PLAIN_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const PLAIN_QUERY = /^[A-Za-z0-9\-._~!$&()*+,;=:@/?%]*$/;
// `.`, `..` and their percent-encoded spellings are removed by the parser.
const DOT_SEGMENT = /\/\.\.?(?:\/|$)|%2e/i;

// Nearly every request to a server names the same Host: remember the last one found plain.
let lastPlainHost = '';
let lastPlainScheme = '';

function isPlainHost(host: string, scheme: string): boolean {
  if (host === lastPlainHost && scheme === lastPlainScheme) return true;
  if (!checkHost(host, scheme)) return false;
  lastPlainHost = host;
  lastPlainScheme = scheme;
  return true;
}

function checkHost(host: string, scheme: string): boolean {
  const colon = host.lastIndexOf(':');
  const name = colon === -1 ? host : host.slice(0, colon);
  if (!PLAIN_NAME.test(name) && !PLAIN_IPV4.test(name)) return false;
  if (colon === -1) return true;
  const port = host.slice(colon + 1);
  if (!PLAIN_PORT.test(port)) return false;
  const number = Number(port);
  // The parser drops a scheme's default port and refuses one past 65535.
  return number <= 65535 && !(scheme === 'http' && number === 80) && !(scheme === 'https' && number === 443);
}

/** The Host the request names, or the server's own address when it names none (HTTP/1.0). */
function hostOf(scope: HttpScope): string {
  const given = headerOf(scope.headers, 'host');
  if (given !== undefined && given !== '') return given;
  if (scope.server === null) return 'localhost';
  const [host, port] = scope.server;
  return port === null ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function requestUrl(scope: HttpScope): string {
  const scheme = scope.scheme;
  const host = hostOf(scope);
  const path = scope.raw_path === '' ? '/' : scope.raw_path;
  const query = scope.query_string;
  const url = `${scheme}://${host}${path}${query === '' ? '' : `?${query}`}`;
  if (
    (scheme === 'http' || scheme === 'https') &&
    isPlainHost(host, scheme) &&
    PLAIN_PATH.test(path) &&
    !DOT_SEGMENT.test(path) &&
    (query === '' || PLAIN_QUERY.test(query))
  ) {
    return url;
  }
  try {
    return new URL(url).href;
  } catch {
    throw new RequestUrlError(`the request's Host (${JSON.stringify(host)}) and target (${JSON.stringify(path)}) make no valid URL; the client must send a valid Host header`);
  }
}
