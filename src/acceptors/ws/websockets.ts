/**
 * Websockets for the backends that hand over a raw socket (node, llhttp), with the `ws` package
 * doing the framing: an upgrade request waiting for the app's decision (`SocketUpgrade`), and an
 * open websocket (`SocketLink`).
 *
 * What this file adds to `ws`, so these backends behave like the uws one:
 * - the decision is the app's and comes later, so the raw socket is watched meanwhile (a client
 *   that leaves is reported) and the 101, or a plain HTTP refusal, is written when it comes;
 * - the idle timeout with keep-alive pings (idle.ts);
 * - backpressure by `maxBackpressure`: a send that leaves more than that queued returns false,
 *   and the drain is reported when that send has been written to the kernel;
 * - shutdown: 1001 close frames, then whatever is left is cut at the end of the grace period.
 *
 * A request that asks for another protocol (h2c) or is a malformed handshake is answered 400
 * here: node:http hands every request with an Upgrade header to its 'upgrade' listener.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import type { RequestHead } from '../../core/transport.js';
import type {
  WebSocketEvents,
  WebSocketLimits,
  WebSocketLink,
  WebSocketUpgrade,
} from '../../core/websocket-transport.js';
import type { HeaderPair } from '../../spec/types.js';
import { closingResponse } from '../http1.js';
import { IdleSweeper, type IdleTracked } from './idle.js';

/** An upgrade request as its backend parsed it. */
export interface UpgradeRequest {
  /** What `ws` reads to complete the handshake: the method and the headers, names lower-case. */
  readonly method?: string | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface SocketWebSocketHost {
  readonly closing: boolean;
  /** Once per upgrade handed to the core: refused, abandoned, or the open websocket closed. */
  exchangeEnded(): void;
}

/** Hands an upgrade request to the core (the acceptor's guarded dispatch). */
export type DispatchUpgrade = (head: RequestHead, upgrade: WebSocketUpgrade) => void;

const GOING_AWAY = 1001;
const ABNORMAL = 1006;
/** Bytes a client may send before its handshake is answered (it should send none). */
const MAX_EARLY_BYTES = 64 * 1024;
const KEY = /^[+/0-9A-Za-z]{22}==$/;
const NOOP = (): void => {};

/** Why `req` is not a websocket handshake tsgi can pass to the app, or null when it is one. */
function handshakeProblem(req: UpgradeRequest): { status: string; message: string; headers: HeaderPair[] } | null {
  const upgrade = req.headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.toLowerCase() !== 'websocket') {
    return {
      status: '400 Bad Request',
      message: `this server upgrades connections only to websocket, not to ${JSON.stringify(upgrade ?? '')}; send the request without an Upgrade header`,
      headers: [],
    };
  }
  if (req.method !== 'GET') {
    return { status: '400 Bad Request', message: `a websocket handshake must be a GET, not ${req.method ?? ''}`, headers: [] };
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY.test(key)) {
    return { status: '400 Bad Request', message: 'missing or invalid Sec-WebSocket-Key header', headers: [] };
  }
  const version = req.headers['sec-websocket-version'];
  if (version !== '13' && version !== '8') {
    return {
      status: '426 Upgrade Required',
      message: 'unsupported Sec-WebSocket-Version; this server speaks version 13',
      headers: [['Sec-WebSocket-Version', '13']],
    };
  }
  return null;
}

/** Writes a whole HTTP/1.1 response on a socket the http server has let go of, and closes it. */
function writeRawResponse(socket: Socket, status: string, headers: readonly HeaderPair[], body: Uint8Array): void {
  socket.on('error', NOOP);
  socket.once('finish', () => socket.destroy());
  socket.end(closingResponse(status, headers, body));
}

export class SocketWebSockets {
  private readonly wss: WebSocketServer;
  /** Upgrade requests waiting for the app, and open websockets: what shutdown must end. */
  private readonly pending = new Set<SocketUpgrade>();
  private readonly links = new Set<SocketLink>();
  readonly sweeper: IdleSweeper;
  /** The decision for the request `ws` is completing (its hooks get only the request). */
  private handshaking: SocketUpgrade | null = null;

  /**
   * Loads `ws` on first use: a server whose app has no websockets never pays for it (loading it
   * costs about 10 MiB of memory).
   */
  static async create(limits: WebSocketLimits, host: SocketWebSocketHost, dispatch: DispatchUpgrade): Promise<SocketWebSockets> {
    const { WebSocketServer: Server } = await import('ws');
    return new SocketWebSockets(Server, limits, host, dispatch);
  }

  private constructor(
    Server: typeof WebSocketServer,
    readonly limits: WebSocketLimits,
    readonly host: SocketWebSocketHost,
    private readonly dispatch: DispatchUpgrade,
  ) {
    this.sweeper = new IdleSweeper(limits);
    this.wss = new Server({
      noServer: true,
      clientTracking: false,
      maxPayload: limits.maxMessageSize,
      perMessageDeflate: false,
      // Called during handleUpgrade, only when the client offered subprotocols.
      handleProtocols: () => this.handshaking?.subprotocol ?? false,
    });
    this.wss.on('headers', (lines: string[]) => {
      for (const [name, value] of this.handshaking?.headers ?? []) lines.push(`${name}: ${value}`);
    });
  }

  /**
   * One upgrade request on a socket its backend has let go of; `bodyHead` holds the bytes read
   * past the request head. `head` is the request as the core sees it, valid during this call.
   */
  onUpgrade(req: UpgradeRequest, head: RequestHead, socket: Socket, bodyHead: Buffer): void {
    const problem = handshakeProblem(req);
    if (problem !== null) {
      const headers: HeaderPair[] = [['Content-Type', 'text/plain; charset=utf-8'], ...problem.headers];
      writeRawResponse(socket, problem.status, headers, Buffer.from(problem.message + '\n', 'utf8'));
      return;
    }
    const upgrade = new SocketUpgrade(req, socket, bodyHead, this);
    this.pending.add(upgrade);
    this.dispatch(head, upgrade);
  }

  settled(upgrade: SocketUpgrade): void {
    this.pending.delete(upgrade);
  }

  /** Completes an accepted handshake; false when `ws` could not (the socket died meanwhile). */
  handshake(upgrade: SocketUpgrade, req: UpgradeRequest, socket: Socket, head: Buffer): boolean {
    let opened = false;
    this.handshaking = upgrade;
    try {
      // Synchronous with these options (no verifyClient): the callback runs before this returns.
      // ws reads only the method and the headers of the request it is given.
      this.wss.handleUpgrade(req as IncomingMessage, socket, head, (ws) => {
        opened = true;
        this.opened(upgrade.events!, ws);
      });
    } finally {
      this.handshaking = null;
    }
    return opened;
  }

  private opened(events: WebSocketEvents, ws: WebSocket): void {
    const link = new SocketLink(ws, events, this);
    this.links.add(link);
    this.sweeper.add(link);
    events.onOpen(link);
    // Accepted while the server shuts down: the app learns at once that it is over.
    if (this.host.closing) link.close(GOING_AWAY, 'server shutting down');
  }

  linkClosed(link: SocketLink): void {
    this.links.delete(link);
    this.sweeper.delete(link);
    this.host.exchangeEnded();
  }

  /** Server shutdown begins: every open websocket gets a 1001 close frame. */
  goAway(): void {
    for (const link of [...this.links]) link.close(GOING_AWAY, 'server shutting down');
  }

  /** The grace period is over: websockets still closing, and upgrades still undecided, are cut. */
  cut(): void {
    for (const link of [...this.links]) link.terminate();
    for (const upgrade of [...this.pending]) upgrade.abandon();
  }
}

const enum Decision {
  Pending,
  Made,
  /** The client left first, or the server gave up on it. */
  Abandoned,
}

class SocketUpgrade implements WebSocketUpgrade {
  events: WebSocketEvents | null = null;
  subprotocol: string | null = null;
  headers: readonly HeaderPair[] = [];
  private decision = Decision.Pending;
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly onData = (chunk: Buffer): void => {
    this.earlyBytes += chunk.byteLength;
    if (this.earlyBytes > MAX_EARLY_BYTES) this.abandon();
    else this.early.push(chunk);
  };
  private readonly onGone = (): void => this.abandon();

  constructor(
    private readonly req: UpgradeRequest,
    private readonly socket: Socket,
    private readonly bodyHead: Buffer,
    private readonly owner: SocketWebSockets,
  ) {
    // Reading is what reveals a client that leaves (its FIN) while the app decides; anything it
    // sends meanwhile is kept for the websocket.
    socket.on('data', this.onData);
    socket.on('end', this.onGone);
    socket.on('close', this.onGone);
    socket.on('error', this.onGone);
  }

  watch(events: WebSocketEvents): void {
    this.events = events;
  }

  accept(subprotocol: string | null, headers: readonly HeaderPair[]): void {
    if (!this.settle()) return;
    this.subprotocol = subprotocol;
    this.headers = headers;
    const head = this.early.length === 0 ? this.bodyHead : Buffer.concat([this.bodyHead, ...this.early]);
    this.early = [];
    if (!this.owner.handshake(this, this.req, this.socket, head)) {
      // ws has answered 400 or destroyed the socket itself.
      this.owner.host.exchangeEnded();
      this.events?.onClose(ABNORMAL, 'the websocket handshake failed: the client left, or its Sec-WebSocket-Protocol header is malformed');
    }
  }

  reject(status: string, headers: readonly HeaderPair[], body: Uint8Array): void {
    if (!this.settle()) return;
    writeRawResponse(this.socket, status, headers, body);
    this.owner.host.exchangeEnded();
  }

  /** The client left before the decision, or shutdown gave up waiting for it. */
  abandon(): void {
    if (this.decision !== Decision.Pending) return;
    this.decision = Decision.Abandoned;
    this.detach();
    this.owner.settled(this);
    this.socket.on('error', NOOP);
    this.socket.destroy();
    this.owner.host.exchangeEnded();
    this.events?.onClose(ABNORMAL, 'the client closed the connection before the websocket was accepted');
  }

  /** Takes the decision; false when one was already taken (or the client is gone). */
  private settle(): boolean {
    if (this.decision !== Decision.Pending) return false;
    this.decision = Decision.Made;
    this.detach();
    this.owner.settled(this);
    return true;
  }

  private detach(): void {
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onGone);
    socket.off('close', this.onGone);
    socket.off('error', this.onGone);
  }
}

const TEXT = { binary: false };
const BINARY = { binary: true };

/** ws's receive errors and the close code it sent for each (it reports 1006 for itself). */
function closeCodeOf(error: Error & { code?: string }): number {
  if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return 1009;
  if (error.code === 'WS_ERR_INVALID_UTF8') return 1007;
  return 1002;
}

class SocketLink implements WebSocketLink, IdleTracked {
  lastActive = Date.now();
  pinged = false;
  private closed = false;
  /** A send went over the limit; its write callback reports the drain. */
  private blocked = false;
  /** Why the connection ended when ws's own close code (1006) says less. */
  private failure: { code: number; reason: string } | null = null;
  private readonly maxBackpressure: number;
  /** One callback per link for the sends that may block, instead of a closure per send. */
  private readonly flushed = (error?: Error | null): void => this.onFlushed(error);

  constructor(
    private readonly ws: WebSocket,
    private readonly events: WebSocketEvents,
    private readonly owner: SocketWebSockets,
  ) {
    this.maxBackpressure = owner.limits.maxBackpressure;
    ws.on('message', (data, isBinary) => {
      this.active();
      // binaryType 'nodebuffer' (the default): always one Buffer, fragments joined.
      const bytes = data as Buffer;
      events.onMessage(isBinary ? bytes : bytes.toString('utf8'));
    });
    ws.on('ping', () => this.active());
    ws.on('pong', () => this.active());
    // A receive error (too big, bad UTF-8, bad frame): ws has sent the matching close frame.
    ws.on('error', (error: Error & { code?: string }) => {
      this.failure ??= { code: closeCodeOf(error), reason: error.message };
    });
    ws.on('close', (code: number, reason: Buffer) => {
      this.closed = true;
      this.owner.linkClosed(this);
      const failure = this.failure;
      if (failure !== null) events.onClose(failure.code, failure.reason);
      else events.onClose(code, reason.toString('utf8'));
    });
  }

  send(message: string | Uint8Array): boolean {
    if (this.closed) return true;
    const ws = this.ws;
    const options = typeof message === 'string' ? TEXT : BINARY;
    // An upper bound of the frame's bytes (UTF-8 needs at most 3 bytes per UTF-16 unit): a send
    // that cannot cross the limit needs no write callback.
    const bound = typeof message === 'string' ? message.length * 3 : message.byteLength;
    if (ws.bufferedAmount + bound <= this.maxBackpressure) {
      ws.send(message, options);
      return true;
    }
    ws.send(message, options, this.flushed);
    if (ws.bufferedAmount <= this.maxBackpressure) return true;
    this.blocked = true;
    return false;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.close(code, reason);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  terminate(): void {
    this.failure ??= { code: ABNORMAL, reason: 'the server shut down before the closing handshake completed' };
    this.ws.terminate();
  }

  // --- IdleTracked ----------------------------------------------------------------------------

  ping(): void {
    this.ws.ping();
  }

  expire(): void {
    // uWS's wording, so the app sees the same reason on every backend.
    this.failure ??= { code: ABNORMAL, reason: 'WebSocket timed out from inactivity' };
    this.ws.terminate();
  }

  private active(): void {
    this.lastActive = Date.now();
    this.pinged = false;
  }

  private onFlushed(error: Error | null | undefined): void {
    // An error means the socket died: 'close' follows and tells the core.
    if (!this.blocked || this.closed || error) return;
    // An earlier send's callback: the one that blocked is still queued.
    if (this.ws.bufferedAmount > this.maxBackpressure) return;
    this.blocked = false;
    // As in uWS, draining the send queue counts as activity.
    this.active();
    this.events.onDrain();
  }
}
