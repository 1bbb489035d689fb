/**
 * The node acceptor's `RequestHead`: one object per server, refilled for every request (and
 * every websocket upgrade) from an `IncomingMessage`.
 */
import type { IncomingMessage } from 'node:http';
import type { HeaderVisitor, RequestHead } from '../../core/transport.js';
import { proxiedPeer } from '../proxy-preface.js';
import { splitTarget } from '../target.js';

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
    const { httpVersionMajor: major, httpVersionMinor: minor } = req;
    // The core refuses versions other than 1.x (core/framing.ts); a later 1.x is served as 1.1.
    this.protocol = major !== 1 ? `HTTP/${major}.${minor}` : minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1';
    const socket = req.socket;
    const proxied = proxiedPeer(socket);
    this.remoteAddress = proxied?.address ?? socket.remoteAddress ?? '';
    const port = proxied?.port ?? socket.remotePort;
    this.remotePort = port === undefined ? '' : String(port);
    this.rawHeaders = req.rawHeaders;
  }

  forEachHeader(visit: HeaderVisitor): void {
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) visit(raw[i]!.toLowerCase(), raw[i + 1]!);
  }
}
