/**
 * --proxy-protocol: every connection must open with a PROXY protocol header (v1 or v2, as
 * HAProxy and cloud load balancers send it) naming the client; the HTTP (or TLS) bytes follow.
 * A connection whose first bytes are not a valid header is closed, and one that does not finish
 * its header within the head timeout is dropped like a slow head.
 *
 * The header is read before the server's own connection handling runs, so the same code serves
 * plain and TLS servers, llhttp's and node's: the server's 'connection' listeners run once the
 * header is read, with the bytes after it put back on the socket (TLS reads buffered bytes when it
 * wraps a socket; node's http parser reads them as the first 'data').
 */
import type { Server, Socket } from 'node:net';
import tls from 'node:tls';
import { MAX_PROXY_HEADER_BYTES, parseProxyHeader } from '../core/proxy-protocol.js';
import type { AcceptorLog } from './types.js';

export interface PeerAddress {
  readonly address: string;
  readonly port: number;
}

/** The client each header named, by the raw TCP socket it arrived on. */
const PEERS = new WeakMap<Socket, PeerAddress>();

/** The client a PROXY header named for this socket (or, for a TLS socket, for the socket under it). */
export function proxiedPeer(socket: Socket): PeerAddress | undefined {
  return PEERS.get(socket) ?? PEERS.get((socket as { _parent?: Socket })._parent!);
}

export interface PrefaceOptions {
  /** How long the header may take to arrive, in ms (the head timeout). */
  timeoutMs: number;
  log: AcceptorLog;
  /** Sockets still reading their header (the acceptor destroys them when it closes). */
  pending: Set<Socket>;
  /**
   * Hands the socket on with the bytes that followed the header; by default they are put back on
   * the socket and the server's own 'connection' listeners run.
   */
  deliver?: (socket: Socket, rest: Buffer) => void;
}

/** Makes `server` read a PROXY protocol header from each connection before its own handling. */
export function requireProxyHeader(server: Server, options: PrefaceOptions): void {
  const listeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  // TLS wraps the paused socket and reads what was put back itself; a plain server's parser
  // reads it as 'data', which a paused socket only emits once resumed.
  const encrypted = server instanceof tls.Server;
  const deliver =
    options.deliver ??
    ((socket: Socket, rest: Buffer): void => {
      if (rest.byteLength > 0) socket.unshift(rest);
      for (const listener of listeners) listener.call(server, socket);
      if (!encrypted) socket.resume();
    });
  server.on('connection', (socket: Socket) => readHeader(socket, options, deliver));
}

function readHeader(socket: Socket, options: PrefaceOptions, deliver: (socket: Socket, rest: Buffer) => void): void {
  const { pending, log } = options;
  pending.add(socket);
  let received: Buffer | null = null;
  const finish = (): void => {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('error', onError);
    socket.off('close', onClose);
    pending.delete(socket);
  };
  const fail = (reason: string): void => {
    finish();
    log.info(`${socket.remoteAddress ?? ''}: connection closed: ${reason} (--proxy-protocol)`);
    socket.destroy();
  };
  const onData = (chunk: Buffer): void => {
    received = received === null ? chunk : Buffer.concat([received, chunk]);
    const result = parseProxyHeader(received);
    if (result.kind === 'incomplete') {
      if (received.byteLength >= MAX_PROXY_HEADER_BYTES) fail('the PROXY header is longer than the protocol allows');
      return;
    }
    if (result.kind === 'invalid') return fail(result.reason);
    finish();
    socket.pause();
    if (result.addresses !== null) PEERS.set(socket, result.addresses.source);
    deliver(socket, received.subarray(result.length));
  };
  const onError = (): void => finish();
  const onClose = (): void => finish();
  const timer = setTimeout(() => fail(`no PROXY header within ${options.timeoutMs / 1000} s`), options.timeoutMs);
  socket.on('data', onData);
  socket.on('error', onError);
  socket.on('close', onClose);
}
