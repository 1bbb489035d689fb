/**
 * `req` for a Node request listener: a real `http.IncomingMessage` (Express and Koa replace its
 * prototype with their own, which inherit from IncomingMessage's, so anything else would lose its
 * methods), filled from the scope as node:http's parser would fill it.
 */
import { IncomingMessage } from 'node:http';
import type { HttpScope } from '../../spec/event-types.js';
import type { BridgeSocket } from './socket.js';

/** Node's own header folding: duplicates joined, Set-Cookie as a list, some kept once. */
type AddHeaderLine = (name: string, value: string, into: Record<string, string | string[]>) => void;

export function incomingFromScope(scope: HttpScope, socket: BridgeSocket): IncomingMessage {
  const req = new IncomingMessage(socket as never);
  const minor = scope.http_version === '1.0' ? 0 : 1;
  req.httpVersionMajor = 1;
  req.httpVersionMinor = minor;
  req.httpVersion = minor === 0 ? '1.0' : '1.1';
  req.method = scope.method;
  // The listener sees the path below any tsgi mount, as Express shows a sub-app its own path;
  // the mount point is req.baseUrl, and req.originalUrl the whole path (see below).
  const path = scope.raw_path === '' ? '/' : scope.raw_path;
  req.url = scope.query_string === '' ? path : `${path}?${scope.query_string}`;
  const raw: string[] = [];
  const headers: Record<string, string | string[]> = {};
  const addLine = (req as unknown as { _addHeaderLine: AddHeaderLine })._addHeaderLine;
  for (const [name, value] of scope.headers) {
    raw.push(name, value);
    addLine.call(req, name, value, headers);
  }
  req.rawHeaders = raw;
  req.headers = headers as IncomingMessage['headers'];
  if (scope.root_path !== '') {
    // Express's router keeps a baseUrl it finds and extends it; originalUrl is kept as given.
    Object.assign(req, { baseUrl: scope.root_path, originalUrl: scope.root_path + req.url });
  }
  return req;
}

/** Whether the request has a body to read, by its framing headers (as node:http decides). */
export function hasRequestBody(scope: HttpScope): boolean {
  for (const [name, value] of scope.headers) {
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length' && value.trim() !== '0') return true;
  }
  return false;
}
