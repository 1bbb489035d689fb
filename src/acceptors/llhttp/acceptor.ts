/**
 * The llhttp acceptor: a plain `net.Server`, Node's own llhttp parser reading each socket in C++
 * (no IncomingMessage or ServerResponse), and tsgi's HTTP/1.1 writer. The protocol work is in
 * connection.ts; this file accepts connections, runs the timeout sweep and closes them all.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { AcceptorBase, countConnections, waitAtMost } from '../lifecycle.js';
import { listenEach, type BoundTarget } from '../listen.js';
import { requireProxyHeader, type PrefaceOptions } from '../proxy-preface.js';
import { nodeTlsOptions, watchHandshakes } from '../tls.js';
import type { AcceptorLog, AcceptorOptions } from '../types.js';
import { SocketWebSockets } from '../ws/websockets.js';
import type { LlhttpBinding } from './binding.js';
import { Connection, SWEEP_MS, type ConnectionHost } from './connection.js';
import type { LlhttpRequest } from './request.js';
import type { LlhttpTransport } from './transport.js';


export class LlhttpAcceptor extends AcceptorBase implements ConnectionHost {
  /** A coarse clock: connections note times with it instead of asking the system per request. */
  clock = Date.now();
  /** One listening server per target. */
  private readonly servers: net.Server[] = [];
  private readonly connections = new Set<Connection>();
  /** Accepted sockets that are not connections yet (a TLS handshake under way). */
  private readonly unready = new Set<Socket>();
  private sockets: SocketWebSockets | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private serverClosed: Promise<void> = Promise.resolve();
  private whenNoConnections: (() => void) | null = null;

  constructor(
    readonly binding: LlhttpBinding,
    options: AcceptorOptions,
    log: AcceptorLog,
  ) {
    super(options, log);
  }

  /** A plain TCP server, or a TLS one whose sockets become connections once their handshake is done. */
  private createServer(): net.Server {
    const tlsConfig = this.options.tls;
    if (tlsConfig === null) {
      const server = net.createServer({ noDelay: true }, (socket) => this.onConnection(socket));
      // Plain sockets become connections at once, the bytes after the header parsed first.
      if (this.options.proxyProtocol) requireProxyHeader(server, { ...this.prefaceOptions(), deliver: (socket, rest) => this.onConnection(socket, rest) });
      return server;
    }
    // A handshake is part of the head: a client that trickles it is cut like a slow head.
    const server = tls.createServer({ ...nodeTlsOptions(tlsConfig), noDelay: true, handshakeTimeout: this.options.timeouts.head * 1000 });
    server.on('connection', (socket: Socket) => {
      this.unready.add(socket);
      socket.once('close', () => this.unready.delete(socket));
    });
    watchHandshakes(server, tlsConfig, this.log, (socket) => {
      this.unready.delete(socket);
      this.onConnection(socket);
    });
    // The header comes before the TLS handshake: read first, then TLS takes the socket.
    if (this.options.proxyProtocol) requireProxyHeader(server, this.prefaceOptions());
    return server;
  }

  private prefaceOptions(): PrefaceOptions {
    return { timeoutMs: this.options.timeouts.head * 1000, log: this.log, pending: this.unready };
  }

  get webSockets(): boolean {
    return this.sockets !== null;
  }

  protected async bind(webSockets: boolean, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]> {
    if (webSockets) {
      this.sockets = await SocketWebSockets.create(this.options.webSocket, this, (head, upgrade) => this.dispatchUpgrade(head, upgrade));
    }
    const create = (): net.Server => {
      const server = this.createServer();
      countConnections(server, this.options.connectionCounter);
      return server;
    };
    const bound = await listenEach(this.options.listeners, create, this.servers, this.options);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
    onListening(bound);
    return bound;
  }

  private onConnection(socket: Socket, preread: Buffer | null = null): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.connections.add(new Connection(this, socket, preread));
  }

  // --- ConnectionHost -------------------------------------------------------------------------

  dispatch(request: LlhttpRequest, transport: LlhttpTransport): void {
    this.dispatchRequest(request, transport);
  }

  upgrade(request: LlhttpRequest, socket: Socket, bodyHead: Buffer): void {
    // What `ws` reads of the request: its method and headers by lower-case name.
    const headers: Record<string, string> = {};
    const flat = request.headers;
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!;
      const previous = headers[name];
      headers[name] = previous === undefined ? flat[i + 1]! : `${previous}, ${flat[i + 1]!}`;
    }
    this.sockets!.onUpgrade({ method: request.method, headers }, request, socket, bodyHead);
  }

  released(connection: Connection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.whenNoConnections?.();
  }

  private sweep(): void {
    const now = Date.now();
    this.clock = now;
    for (const connection of this.connections) connection.checkTimeouts(now);
  }

  // --- closing (AcceptorBase) ---------------------------------------------------------------

  protected closeListener(): void {
    // Resolves once every socket, websockets included, has closed.
    this.serverClosed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
  }

  protected closeIdle(): void {
    for (const connection of [...this.connections]) connection.closeIfIdle();
    this.sockets?.goAway();
  }

  protected async closeAll(deadline: number): Promise<void> {
    // Responses have ended and their connections are closing: give them until the deadline to
    // flush and hear the client close, then cut whatever is left.
    for (const connection of [...this.connections]) connection.closeIfIdle();
    const remaining = deadline - Date.now();
    if (this.connections.size > 0 && remaining > 0) {
      await waitAtMost(remaining, (wake) => (this.whenNoConnections = wake));
      this.whenNoConnections = null;
    }
    for (const connection of [...this.connections]) connection.destroy();
    for (const socket of [...this.unready]) socket.destroy();
    this.sockets?.cut();
    if (this.sweeper !== null) clearInterval(this.sweeper);
    await this.serverClosed;
  }
}
