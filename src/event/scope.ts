/**
 * Builds the connection scopes (http, websocket) of docs/spec.md §10 from an acceptor's
 * `RequestHead`. Like the environ, each scope comes from one object literal (one hidden class),
 * and on acceptors where the peer address is costly (uWS) `client` is fetched on first read.
 */
import { hostName } from '../core/environ.js';
import { newFraming, noteContentLength, noteForwarding, noteHost, noteTransferEncoding, resetFraming, type BodyFraming } from '../core/framing.js';
import { resolveForwarding, type ForwardingHeaders, type ProxyTrust } from '../core/proxy.js';
import { decodePath } from '../core/path.js';
import type { PeerAddressSource, RequestHead } from '../core/transport.js';
import type { AsgiInfo, EventHeader, HttpScope, WebSocketScope } from '../spec/event-types.js';

export const HTTP_ASGI: AsgiInfo = Object.freeze({ version: '3.0', spec_version: '2.5' });
export const LIFESPAN_ASGI: AsgiInfo = Object.freeze({ version: '3.0', spec_version: '2.0' });

/** Per-server values every scope shares. */
export interface ScopeDefaults {
  scheme: 'http' | 'https';
  /** The first listener's address ([path, null] for a unix socket); null until bound. */
  server: [host: string, port: number | null] | null;
  /** The lifespan state; each scope gets a shallow copy. */
  state: Record<string, unknown> | null;
  /** The backend can send trailers (`http.response.trailers`) on HTTP/1.1 responses. */
  trailers: boolean;
}

/** What reading the headers learned about the request, beyond the scope. */
export interface RequestFacts extends BodyFraming {
  /** The raw Sec-WebSocket-Protocol values (websocket scopes). */
  protocols: string;
}

export function newFacts(fieldLimit: number): RequestFacts {
  return { ...newFraming(fieldLimit), protocols: '' };
}

// Header visiting is synchronous: one module-level target instead of a closure per request.
let headers: EventHeader[] = [];
let facts: RequestFacts = newFacts(0);

function visitHeader(lowerName: string, value: string): void {
  headers.push([lowerName, value]);
  facts.fields++;
  if (lowerName === 'content-length') {
    noteContentLength(facts, value);
  } else if (lowerName === 'transfer-encoding') {
    noteTransferEncoding(facts, value);
  } else if (lowerName === 'host') {
    noteHost(facts, value);
  } else if (lowerName === 'sec-websocket-protocol') {
    facts.protocols = facts.protocols === '' ? value : `${facts.protocols}, ${value}`;
  } else {
    const first = lowerName.charCodeAt(0);
    if (first === 120 /* x */ || first === 102 /* f */) noteForwarding(facts, lowerName, value);
  }
}

function readHeaders(head: RequestHead, factsOut: RequestFacts): EventHeader[] {
  const list: EventHeader[] = [];
  resetFraming(factsOut);
  factsOut.protocols = '';
  headers = list;
  facts = factsOut;
  head.forEachHeader(visitHeader);
  headers = [];
  return list;
}

const PEER = Symbol('tsgi.peer');

// Shared and frozen: an app cannot change what the server supports for everyone else.
const NO_EXTENSIONS = Object.freeze({}) as Record<string, Record<string, unknown>>;
const WITH_TRAILERS = Object.freeze({ 'http.response.trailers': Object.freeze({}) }) as Record<string, Record<string, unknown>>;

// Shared descriptor: every lazily-addressed scope keeps one hidden class.
const LAZY_CLIENT: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Record<string | symbol, unknown>): [string, number] {
    const value: [string, number] = [(this[PEER] as PeerAddressSource).peerAddress(), 0];
    Object.defineProperty(this, 'client', { value, writable: true, enumerable: true, configurable: true });
    return value;
  },
  set(this: Record<string, unknown>, value: unknown): void {
    Object.defineProperty(this, 'client', { value, writable: true, enumerable: true, configurable: true });
  },
};

function clientOf(head: RequestHead): [string, number] {
  return [head.remoteAddress, head.remotePort === '' ? 0 : Number(head.remotePort)];
}

function stateCopy(defaults: ScopeDefaults): Record<string, unknown> {
  return defaults.state === null ? {} : { ...defaults.state };
}

export function buildHttpScope(head: RequestHead, defaults: ScopeDefaults, factsOut: RequestFacts): HttpScope {
  return head.peer === null ? eagerHttpScope(head, defaults, factsOut) : lazyHttpScope(head, defaults, factsOut, head.peer);
}

// The two builders below repeat their keys on purpose, as the environ's do: each scope must come
// from one object literal (one hidden class), and turning an existing data property into an
// accessor would drop the object into slow dictionary mode (measured: 12% of a pipelined hello
// on uws), while adding the accessor as a new property keeps it fast.

function eagerHttpScope(head: RequestHead, defaults: ScopeDefaults, factsOut: RequestFacts): HttpScope {
  return {
    type: 'http',
    asgi: HTTP_ASGI,
    http_version: head.protocol === 'HTTP/1.0' ? '1.0' : '1.1',
    method: head.method,
    scheme: defaults.scheme,
    path: decodePath(head.rawPath),
    raw_path: head.rawPath,
    query_string: head.query,
    root_path: '',
    headers: readHeaders(head, factsOut),
    client: clientOf(head),
    server: defaults.server,
    state: stateCopy(defaults),
    extensions: defaults.trailers && head.protocol === 'HTTP/1.1' ? WITH_TRAILERS : NO_EXTENSIONS,
  };
}

/** `client` as an accessor that asks the acceptor for the address on first read. */
function lazyHttpScope(head: RequestHead, defaults: ScopeDefaults, factsOut: RequestFacts, peer: PeerAddressSource): HttpScope {
  const scope = {
    type: 'http',
    asgi: HTTP_ASGI,
    http_version: head.protocol === 'HTTP/1.0' ? '1.0' : '1.1',
    method: head.method,
    scheme: defaults.scheme,
    path: decodePath(head.rawPath),
    raw_path: head.rawPath,
    query_string: head.query,
    root_path: '',
    headers: readHeaders(head, factsOut),
    server: defaults.server,
    state: stateCopy(defaults),
    extensions: defaults.trailers && head.protocol === 'HTTP/1.1' ? WITH_TRAILERS : NO_EXTENSIONS,
    [PEER]: peer,
  };
  Object.defineProperty(scope, 'client', LAZY_CLIENT);
  return scope as unknown as HttpScope;
}

export function buildWebSocketScope(head: RequestHead, defaults: ScopeDefaults, factsOut: RequestFacts): WebSocketScope {
  const headerList = readHeaders(head, factsOut);
  return {
    type: 'websocket',
    asgi: HTTP_ASGI,
    http_version: '1.1',
    scheme: defaults.scheme === 'https' ? 'wss' : 'ws',
    path: decodePath(head.rawPath),
    raw_path: head.rawPath,
    query_string: head.query,
    root_path: '',
    headers: headerList,
    // An upgrade is rare next to a request: the address is fetched eagerly.
    client: head.peer === null ? clientOf(head) : [head.peer.peerAddress(), 0],
    server: defaults.server,
    state: stateCopy(defaults),
    extensions: NO_EXTENSIONS,
    subprotocols: parseSubprotocols(factsOut.protocols),
  };
}

/** The client's address as the access log shows it: `-` when the scope names none. */
export function clientAddressOf(scope: HttpScope | WebSocketScope): string {
  return scope.client === null ? '-' : scope.client[0];
}

/** The client's port as the access log shows it: `''` when unknown (port 0). */
export function clientPortOf(scope: HttpScope | WebSocketScope): string {
  const client = scope.client;
  return client === null || client[1] === 0 ? '' : String(client[1]);
}

/** `Sec-WebSocket-Protocol: a, b` → `['a', 'b']`. */
export function parseSubprotocols(raw: string): string[] {
  if (raw === '') return [];
  const list: string[] = [];
  for (const part of raw.split(',')) {
    const token = part.trim();
    if (token !== '') list.push(token);
  }
  return list;
}

/**
 * What trusted proxies say about the client (--proxy-headers): `client`, `scheme` (ws/wss for a
 * websocket) and `server` as the client's side saw them. `headers` stay as sent.
 */
export function applyForwarding(scope: HttpScope | WebSocketScope, headers: ForwardingHeaders, trust: ProxyTrust): void {
  const mutable = scope as { client: [string, number] | null; scheme: string; server: [string, number | null] | null };
  const peer = mutable.client?.[0] ?? '';
  const view = resolveForwarding(peer, headers, trust);
  if (view === null) return;
  if (view.client !== peer) mutable.client = [view.client, view.clientPort ?? 0];
  if (view.scheme !== null) mutable.scheme = scope.type === 'websocket' ? (view.scheme === 'https' ? 'wss' : 'ws') : view.scheme;
  if (view.host !== null || view.port !== null) {
    const [host, port] = mutable.server ?? ['', null];
    mutable.server = [view.host === null ? host : hostName(view.host), view.port ?? port];
  }
}
