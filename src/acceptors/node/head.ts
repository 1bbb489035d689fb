/**
 * The node acceptor's `RequestHead`: one object per server, refilled for every request (and
 * every websocket upgrade) from an `IncomingMessage`.
 */
import type { IncomingMessage } from 'node:http';
import type { HeaderVisitor, RequestHead } from '../../core/transport.js';

export class NodeHead implements RequestHead {
  method = '';
  rawPath = '';
  query = '';
  protocol = 'HTTP/1.1';
  remoteAddress = '';
  readonly peer = null;
  remotePort = '';
  rawHeaders: string[] = [];

  fill(req: IncomingMessage): void {
    this.method = req.method ?? 'GET';
    splitTarget(this, req.url ?? '/');
    this.protocol = req.httpVersionMinor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    const socket = req.socket;
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort === undefined ? '' : String(socket.remotePort);
    this.rawHeaders = req.rawHeaders;
  }

  forEachHeader(visit: HeaderVisitor): void {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) visit(raw[i]!.toLowerCase(), raw[i + 1]!);
  }
}

/** Splits a request target into path and query; absolute-form targets keep only their path. */
export function splitTarget(head: NodeHead, url: string): void {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
    // absolute-form (http://host/path): the path starts at the first '/' after the authority.
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      const slash = url.indexOf('/', scheme + 3);
      if (slash === -1) {
        const q = url.indexOf('?', scheme + 3);
        head.rawPath = '/';
        head.query = q === -1 ? '' : url.slice(q + 1);
        return;
      }
      start = slash;
    }
  }
  const q = url.indexOf('?', start);
  if (q === -1) {
    head.rawPath = start === 0 ? url : url.slice(start);
    head.query = '';
  } else {
    head.rawPath = url.slice(start, q);
    head.query = url.slice(q + 1);
  }
}
