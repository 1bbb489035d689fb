/**
 * Websockets on uWebSockets.js: the `app.ws('/*', behavior)` route, an upgrade request waiting
 * for the app's decision (`UwsUpgrade`), and an open websocket (`UwsLink`).
 *
 * uWS facts this file relies on (checked against uws-pack 20.0.8):
 * - The ws route sees only GETs with a 24-character Sec-WebSocket-Key; other requests, upgrade
 *   or not, reach the ordinary HTTP route. It wins over `any('/*')` whatever the order.
 * - The decision comes after the handler returned, so `onAborted` must be registered by then
 *   (uWS aborts the process otherwise) and the late 101 or refusal is written inside `res.cork`.
 * - Custom 101 headers: `writeStatus('101 Switching Protocols')` then `writeHeader`, then
 *   `res.upgrade` (its own writeStatus is then a no-op). uWS writes its own Date header.
 * - `open` runs inside `res.upgrade`; `close` runs inside `ws.end`. The ws object is only valid
 *   between the two, and `getUserData()` returns that same object.
 * - `maxBackpressure: 0` turns off uWS's silent dropping of messages (it drops whenever the
 *   buffer is over the limit): tsgi waits for drain itself instead.
 * - A message over `maxPayloadLength`, invalid UTF-8 and the idle timeout close the TCP
 *   connection without a close frame: the client sees 1006, the app gets 1006 with uWS's reason.
 * - No pause for websockets in v20: the links here have no `pause`, so the core bounds its queue.
 */
import type { HeaderVisitor, RequestHead } from '../../core/transport.js';
import type {
  WebSocketEvents,
  WebSocketLimits,
  WebSocketLink,
  WebSocketUpgrade,
} from '../../core/websocket-transport.js';
import type { HeaderPair } from '../../spec/types.js';
import type { UwsRequest, UwsResponse, UwsSocketContext, UwsWebSocket, UwsWebSocketBehavior } from './types.js';

/** What the acceptor provides: shutdown state and the in-flight count that `close()` waits for. */
export interface UwsWebSocketHost {
  readonly closing: boolean;
  /** Once per upgrade handed to the core: refused, abandoned, or the open websocket closed. */
  exchangeEnded(): void;
}

/** Hands an upgrade request to the core (the acceptor's guarded dispatch). */
export type DispatchUpgrade = (head: RequestHead, upgrade: WebSocketUpgrade) => void;

/** Fields tsgi keeps on each uWS websocket (uWS copies the user data onto the ws object). */
interface SocketData {
  tsgiUpgrade: UwsUpgrade;
  tsgiLink: UwsLink | null;
}

type Socket = UwsWebSocket<SocketData>;

const GOING_AWAY = 1001;

class UpgradeHead implements RequestHead {
  readonly method = 'GET';
  rawPath = '';
  query = '';
  readonly protocol = 'HTTP/1.1';
  remoteAddress = '';
  readonly peer = null;
  readonly remotePort = '';
  request: UwsRequest | null = null;

  forEachHeader(visit: HeaderVisitor): void {
    this.request!.forEach(visit);
  }
}

export class UwsWebSockets {
  /** Reused for every upgrade: `HttpRequest` is only valid during the handler anyway. */
  private readonly head = new UpgradeHead();
  private readonly open = new Set<UwsLink>();

  constructor(
    private readonly limits: WebSocketLimits,
    private readonly host: UwsWebSocketHost,
    private readonly dispatch: DispatchUpgrade,
  ) {}

  behavior(): UwsWebSocketBehavior<SocketData> {
    return {
      maxPayloadLength: this.limits.maxMessageSize,
      idleTimeout: this.limits.idleTimeout,
      sendPingsAutomatically: this.limits.ping,
      maxBackpressure: 0,
      closeOnBackpressureLimit: false,
      compression: 0,
      upgrade: (res, req, context) => this.onUpgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => ws.tsgiLink!.onMessage(message, isBinary),
      drain: (ws) => ws.tsgiLink!.onDrain(),
      close: (ws, code, message) => this.onClose(ws, code, message),
    };
  }

  /** Server shutdown: every open websocket gets a 1001 close frame. */
  closeAll(): void {
    for (const link of [...this.open]) link.close(GOING_AWAY, 'server shutting down');
  }

  private onUpgrade(res: UwsResponse, req: UwsRequest, context: UwsSocketContext): void {
    const head = this.head;
    head.request = req;
    head.rawPath = req.getUrl();
    head.query = req.getQuery() ?? '';
    head.remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
    const upgrade = new UwsUpgrade(res, context, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-extensions'), this.host);
    this.dispatch(head, upgrade);
    head.request = null;
    upgrade.leaveHandler();
  }

  private onOpen(ws: Socket): void {
    const upgrade = ws.tsgiUpgrade;
    upgrade.opened = true;
    const link = new UwsLink(ws, upgrade.events!, this.limits.maxBackpressure);
    ws.tsgiLink = link;
    this.open.add(link);
    upgrade.events!.onOpen(link);
    // Accepted while the server shuts down: the app learns at once that it is over.
    if (this.host.closing) link.close(GOING_AWAY, 'server shutting down');
  }

  private onClose(ws: Socket, code: number, message: ArrayBuffer): void {
    const link = ws.tsgiLink;
    if (link === null) return;
    this.open.delete(link);
    this.host.exchangeEnded();
    // The reason's ArrayBuffer dies with this call: decode it now.
    link.onClose(code, Buffer.from(message).toString('utf8'));
  }
}

const enum Decision {
  Pending,
  Made,
  /** The client left first. */
  Abandoned,
}

class UwsUpgrade implements WebSocketUpgrade {
  events: WebSocketEvents | null = null;
  private decision = Decision.Pending;
  /** Inside uWS's upgrade handler: already corked, and onAborted not yet needed. */
  private inHandler = true;

  constructor(
    private readonly res: UwsResponse,
    private readonly context: UwsSocketContext,
    private readonly key: string,
    private readonly extensions: string,
    private readonly host: UwsWebSocketHost,
  ) {}

  watch(events: WebSocketEvents): void {
    this.events = events;
  }

  /** The upgrade handler returns: a response still undecided must hear about a vanished client. */
  leaveHandler(): void {
    this.inHandler = false;
    if (this.decision !== Decision.Pending) return;
    this.res.onAborted(() => {
      if (this.decision !== Decision.Pending) return;
      this.decision = Decision.Abandoned;
      this.host.exchangeEnded();
      this.events?.onClose(1006, 'the client closed the connection before the websocket was accepted');
    });
  }

  accept(subprotocol: string | null, headers: readonly HeaderPair[]): void {
    if (this.decision !== Decision.Pending) return;
    this.decision = Decision.Made;
    this.corked(() => {
      const res = this.res;
      res.writeStatus('101 Switching Protocols');
      writeHeaders(res, headers);
      const data: SocketData = { tsgiUpgrade: this, tsgiLink: null };
      res.upgrade(data, this.key, subprotocol ?? '', this.extensions, this.context);
      // `open` ran inside upgrade() unless the socket died meanwhile; an open websocket stays in
      // flight until its `close`.
      if (!this.opened) this.host.exchangeEnded();
    });
  }

  /** Set by the behavior's `open` (uWS copies the user data, so the flag lives here). */
  opened = false;

  reject(status: string, headers: readonly HeaderPair[], body: Uint8Array): void {
    if (this.decision !== Decision.Pending) return;
    this.decision = Decision.Made;
    this.corked(() => {
      const res = this.res;
      res.writeStatus(status);
      writeHeaders(res, headers);
      // uWS adds Content-Length; closing keeps every backend alike (the ws-based ones must close).
      res.end(body, true);
    });
    this.host.exchangeEnded();
  }

  private corked(write: () => void): void {
    if (this.inHandler) write();
    else this.res.cork(write);
  }
}

function writeHeaders(res: UwsResponse, headers: readonly HeaderPair[]): void {
  for (const [name, value] of headers) {
    // uWS writes its own Date; a second one would make the response ambiguous.
    if (name.length === 4 && name.toLowerCase() === 'date') continue;
    res.writeHeader(name, value);
  }
}

class UwsLink implements WebSocketLink {
  private closed = false;
  /** A send went over the limit; the next drain under it is reported. */
  private blocked = false;

  constructor(
    private readonly ws: Socket,
    private readonly events: WebSocketEvents,
    private readonly maxBackpressure: number,
  ) {}

  send(message: string | Uint8Array): boolean {
    if (this.closed) return true;
    const ws = this.ws;
    ws.send(message, typeof message !== 'string');
    if (ws.getBufferedAmount() <= this.maxBackpressure) return true;
    this.blocked = true;
    return false;
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.ws.end(code, reason);
  }

  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    // The ArrayBuffer is neutered when uWS's handler returns: copy the bytes or decode the text.
    // Bytes go out as a Buffer over the copy, as ws delivers them on the llhttp and node backends.
    this.events.onMessage(isBinary ? Buffer.from(message.slice(0)) : Buffer.from(message).toString('utf8'));
  }

  onDrain(): void {
    // uWS reports every partial drain; the core only wants to hear once it is under the limit.
    if (!this.blocked || this.closed || this.ws.getBufferedAmount() > this.maxBackpressure) return;
    this.blocked = false;
    this.events.onDrain();
  }

  onClose(code: number, reason: string): void {
    this.closed = true;
    this.events.onClose(code, reason);
  }
}
