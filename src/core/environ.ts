/**
 * Builds the environ for one request from an acceptor's `RequestHead`.
 *
 * Every environ starts as the same object literal, so they share one hidden class up to the
 * first `HTTP_*` key; header names map to CGI keys through a cache, so a request with the usual
 * headers allocates no key strings.
 */
import { TSGI_VERSION } from '../spec/constants.js';
import type { Environ, ErrorStream, InputStream } from '../spec/types.js';
import { newFraming, noteContentLength, noteForwarding, noteHost, noteTransferEncoding, resetFraming, type BodyFraming } from './framing.js';
import { decodePath } from './path.js';
import { resolveForwarding, type ForwardingHeaders, type ProxyTrust } from './proxy.js';
import type { PeerAddressSource, RequestHead } from './transport.js';

/** Per-server constants copied into every environ. */
export interface EnvironDefaults {
  serverName: string;
  serverPort: string;
  urlScheme: 'http' | 'https';
  multiprocess: boolean;
  errors: ErrorStream;
  emptyInput: InputStream;
}


const cgiKeyCache = new Map<string, string>();
const CGI_KEY_CACHE_LIMIT = 4096;

/** `x-request-id` → `HTTP_X_REQUEST_ID` (cached: header names repeat from request to request). */
export function cgiKey(lowerName: string): string {
  let key = cgiKeyCache.get(lowerName);
  if (key === undefined) {
    key = 'HTTP_' + lowerName.toUpperCase().replace(/-/g, '_');
    // Header names are attacker-chosen: cap the cache so it cannot grow without bound.
    if (cgiKeyCache.size < CGI_KEY_CACHE_LIMIT) cgiKeyCache.set(lowerName, key);
  }
  return key;
}

// The environ being filled by `visitHeader`. Header visiting is synchronous, so one module-level
// target replaces a closure per request.
let target: Environ | null = null;
let framing: BodyFraming = newFraming(0);

function visitHeader(lowerName: string, value: string): void {
  const environ = target!;
  framing.fields++;
  let key: string;
  if (lowerName === 'content-type') {
    key = 'CONTENT_TYPE';
  } else if (lowerName === 'content-length') {
    key = 'CONTENT_LENGTH';
    noteContentLength(framing, value);
  } else {
    // A name with '_' would alias a '-' name in the environ (X_User vs X-User), a known header
    // spoofing vector behind proxies that only filter one spelling; such headers are dropped.
    if (lowerName.indexOf('_') !== -1) return;
    const first = lowerName.charCodeAt(0);
    if (first === 120 /* x */ || first === 102 /* f */) noteForwarding(framing, lowerName, value);
    else if (lowerName === 'transfer-encoding') noteTransferEncoding(framing, value);
    else if (lowerName === 'host') noteHost(framing, value);
    key = cgiKey(lowerName);
  }
  const previous = environ[key];
  environ[key] = previous === undefined ? value : `${previous as string}, ${value}`;
}

/** Where a lazily fetched REMOTE_ADDR comes from; a symbol, so it never collides with a CGI key. */
const PEER = Symbol('tsgi.peer');

// One descriptor object for every environ, so V8 keeps them all on one hidden class.
const LAZY_REMOTE_ADDR: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Environ): string {
    const value = (this[PEER as unknown as string] as PeerAddressSource).peerAddress();
    // Replace the accessor with the value: later reads are plain property loads.
    Object.defineProperty(this, 'REMOTE_ADDR', { value, writable: true, enumerable: true, configurable: true });
    return value;
  },
  set(this: Environ, value: unknown): void {
    // Middleware such as proxy-header fixers assign REMOTE_ADDR; that must just work.
    Object.defineProperty(this, 'REMOTE_ADDR', { value, writable: true, enumerable: true, configurable: true });
  },
};

export function buildEnviron(head: RequestHead, defaults: EnvironDefaults, framingOut: BodyFraming): Environ {
  const environ = head.peer === null ? eagerEnviron(head, defaults) : lazyEnviron(head, defaults, head.peer);
  resetFraming(framingOut);
  target = environ;
  framing = framingOut;
  head.forEachHeader(visitHeader);
  target = null;
  return environ;
}

// The two builders below repeat their keys on purpose: each environ must come from one object
// literal (one hidden class, no spread or copying on the hot path), and the two differ in how
// REMOTE_ADDR arrives.

/** Every key as a data property (backends that know the peer's address up front). */
function eagerEnviron(head: RequestHead, defaults: EnvironDefaults): Environ {
  return {
    REQUEST_METHOD: head.method,
    SCRIPT_NAME: '',
    PATH_INFO: decodePath(head.rawPath),
    QUERY_STRING: head.query,
    SERVER_NAME: defaults.serverName,
    SERVER_PORT: defaults.serverPort,
    SERVER_PROTOCOL: head.protocol,
    REMOTE_ADDR: head.remoteAddress,
    REMOTE_PORT: head.remotePort,
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': defaults.urlScheme,
    'tsgi.input': defaults.emptyInput,
    'tsgi.errors': defaults.errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': defaults.multiprocess,
    'tsgi.run_once': false,
    'tsgi.raw_path': head.rawPath,
  };
}

/** REMOTE_ADDR as an accessor that fetches the address from the acceptor on first read. */
function lazyEnviron(head: RequestHead, defaults: EnvironDefaults, peer: PeerAddressSource): Environ {
  const environ = {
    REQUEST_METHOD: head.method,
    SCRIPT_NAME: '',
    PATH_INFO: decodePath(head.rawPath),
    QUERY_STRING: head.query,
    SERVER_NAME: defaults.serverName,
    SERVER_PORT: defaults.serverPort,
    SERVER_PROTOCOL: head.protocol,
    REMOTE_PORT: head.remotePort,
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': defaults.urlScheme,
    'tsgi.input': defaults.emptyInput,
    'tsgi.errors': defaults.errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': defaults.multiprocess,
    'tsgi.run_once': false,
    'tsgi.raw_path': head.rawPath,
    [PEER]: peer,
  } as unknown as Environ;
  Object.defineProperty(environ, 'REMOTE_ADDR', LAZY_REMOTE_ADDR);
  return environ;
}

/**
 * What trusted proxies say about the client (--proxy-headers): REMOTE_ADDR and REMOTE_PORT, the
 * scheme, HTTP_HOST, SERVER_NAME and SERVER_PORT as the client's side saw them. The forwarding
 * headers themselves stay in the environ as sent.
 */
export function applyForwarding(environ: Environ, headers: ForwardingHeaders, trust: ProxyTrust): void {
  const peer = environ.REMOTE_ADDR;
  const view = resolveForwarding(peer, headers, trust);
  if (view === null) return;
  if (view.client !== peer) {
    environ.REMOTE_ADDR = view.client;
    environ.REMOTE_PORT = view.clientPort === null ? '' : String(view.clientPort);
  }
  if (view.scheme !== null) environ['tsgi.url_scheme'] = view.scheme;
  if (view.host !== null) {
    environ.HTTP_HOST = view.host;
    environ.SERVER_NAME = hostName(view.host);
  }
  if (view.port !== null) environ.SERVER_PORT = String(view.port);
}

/** `example.com:8443` → `example.com`, `[::1]:80` → `::1`. */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
