/**
 * The http and websocket scopes of docs/spec.md §10–§11 for a prepared request, as the server
 * builds them (the same path decoder, the same ASGI versions, trailers offered on HTTP/1.1).
 */
import { decodePath } from '../core/path.js';
import { HTTP_ASGI, parseSubprotocols } from '../event/scope.js';
import type { HttpScope, WebSocketScope } from '../spec/event-types.js';
import type { PreparedRequest } from './request.js';

export function buildHttpScope(request: PreparedRequest, client: readonly [string, number], state: Record<string, unknown>): HttpScope {
  return {
    type: 'http',
    asgi: HTTP_ASGI,
    http_version: '1.1',
    method: request.method,
    scheme: request.scheme,
    path: decodePath(request.rawPath),
    raw_path: request.rawPath,
    query_string: request.query,
    root_path: '',
    headers: request.headers.map(([name, value]): [string, string] => [name, value]),
    client: [client[0], client[1]],
    server: [request.hostname, request.port],
    state,
    extensions: { 'http.response.trailers': {} },
  };
}

export function buildWebSocketScope(request: PreparedRequest, client: readonly [string, number], state: Record<string, unknown>): WebSocketScope {
  const offered = request.headers.filter(([name]) => name === 'sec-websocket-protocol').map(([, value]) => value).join(', ');
  return {
    type: 'websocket',
    asgi: HTTP_ASGI,
    http_version: '1.1',
    scheme: request.scheme === 'https' ? 'wss' : 'ws',
    path: decodePath(request.rawPath),
    raw_path: request.rawPath,
    query_string: request.query,
    root_path: '',
    headers: request.headers.map(([name, value]): [string, string] => [name, value]),
    client: [client[0], client[1]],
    server: [request.hostname, request.port],
    state,
    extensions: {},
    subprotocols: parseSubprotocols(offered),
  };
}
