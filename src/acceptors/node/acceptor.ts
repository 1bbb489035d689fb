/**
 * The portable acceptor on Node's http module (llhttp underneath, with IncomingMessage and
 * ServerResponse per request): the most compatible backend, and the slowest.
 */
import http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { parseErrorRefusal, refusal } from '../http1.js';
import { AcceptorBase, countConnections } from '../lifecycle.js';
import { listenEach, type BoundTarget } from '../listen.js';
import { requireProxyHeader } from '../proxy-preface.js';
import { nodeTlsOptions, watchHandshakes } from '../tls.js';
import type { AcceptorLog, AcceptorOptions } from '../types.js';
import { NodeHead } from './head.js';
import { ConnectionPipeline, type PendingRequest } from './pipeline.js';
import { NodeTransport, type NodeTransportHost } from './transport.js';
import { SocketWebSockets } from '../ws/websockets.js';

export class NodeAcceptor extends AcceptorBase implements NodeTransportHost {
  readonly bodyTimeoutMs: number;
  /** One server per listening target, all alike. */
  private readonly servers: http.Server[] = [];
  private webSockets: SocketWebSockets | null = null;
  private readonly head = new NodeHead();
  /** Sockets still reading their PROXY header (--proxy-protocol). */
  private readonly unready = new Set<Socket>();
  private serverClosed: Promise<void> = Promise.resolve();

  constructor(options: AcceptorOptions, log: AcceptorLog) {
    super(options, log);
    this.bodyTimeoutMs = options.timeouts.body * 1000;
  }

  private createServer(): http.Server {
    const { keepAlive, head } = this.options.timeouts;
    const httpOptions: http.ServerOptions = {
      maxHeaderSize: this.options.maxHeaderSize,
      // The core refuses a missing Host itself (core/framing.ts), and then serves nothing after
      // it on the connection; node's own refusal would go on serving the pipelined requests.
      requireHostHeader: false,
      keepAliveTimeout: keepAlive * 1000,
      // Node's headersTimeout counts from a request's first byte: the slowloris guard. Its
      // requestTimeout (a cap on a whole upload) is off: a body is guarded by its stalls instead
      // (NodeTransport), so a large upload at a steady pace is never cut.
      headersTimeout: head * 1000,
      requestTimeout: 0,
      // How often Node checks those; its default (30 s) would make a 10 s timeout a 40 s one.
      connectionsCheckingInterval: 1000,
    };
    const tlsConfig = this.options.tls;
    let server: http.Server;
    if (tlsConfig === null) {
      server = http.createServer(httpOptions);
    } else {
      // A handshake is part of the head: a client that trickles it is cut like a slow head.
      const secure = https.createServer({ ...httpOptions, ...nodeTlsOptions(tlsConfig), handshakeTimeout: head * 1000 });
      watchHandshakes(secure, tlsConfig, this.log);
      server = secure;
    }
    // Node keeps the first 2000 headers and drops the rest silently; the core counts every one
    // against --limit-request-fields (431), so node must keep them all (the head's size is bounded).
    server.maxHeadersCount = 0;
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, false));
    // Answering 100 Continue is deferred until the core decides to read the body, so a body
    // over the limit gets its 413 without the client ever sending it.
    server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, true));
    server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
    // The header comes first (before TLS too): read it, then the server's own handling runs.
    if (this.options.proxyProtocol) requireProxyHeader(server, { timeoutMs: head * 1000, log: this.log, pending: this.unready });
    const sockets = this.webSockets;
    if (sockets !== null) {
      // Without an 'upgrade' listener Node serves upgrade requests as plain requests.
      server.on('upgrade', (req: http.IncomingMessage, socket: Socket, bodyHead: Buffer) => this.onUpgrade(sockets, req, socket, bodyHead));
    }
    return server;
  }

  protected async bind(webSockets: boolean, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]> {
    if (webSockets) {
      this.webSockets = await SocketWebSockets.create(this.options.webSocket, this, (head, upgrade) => this.dispatchUpgrade(head, upgrade));
    }
    const create = (): http.Server => {
      const server = this.createServer();
      countConnections(server, this.options.connectionCounter);
      return server;
    };
    const bound = await listenEach(this.options.listeners, create, this.servers, this.options);
    onListening(bound);
    return bound;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void {
    pipelineOf(req.socket, this.startRequest).offer({ req, res, expectsContinue });
  }

  private readonly startRequest = ({ req, res, expectsContinue }: PendingRequest): void => {
    const head = this.head;
    head.fill(req);
    const transport = new NodeTransport(req, res, this, pipelineOf(req.socket, this.startRequest));
    transport.expectsContinue = expectsContinue;
    this.dispatchRequest(head, transport);
    head.rawHeaders = [];
  };

  private onUpgrade(sockets: SocketWebSockets, req: http.IncomingMessage, socket: Socket, bodyHead: Buffer): void {
    const head = this.head;
    head.fill(req);
    sockets.onUpgrade(req, head, socket, bodyHead);
    head.rawHeaders = [];
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    let answer: Buffer;
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      this.clientTimedOut(`${socket.remoteAddress ?? ''}: the request head took longer than ${this.options.timeouts.head} s; answered 408`);
      answer = refusal(408, `The request head did not arrive within ${this.options.timeouts.head} s.`);
    } else {
      answer = parseErrorRefusal(error.code, (error as { reason?: string }).reason);
    }
    // Never spliced into a response under way: it goes out after the responses ahead of it.
    pipelineOf(socket, this.startRequest).refuse(answer);
  }

  protected closeListener(): void {
    // Resolves once every connection, upgraded websockets included, has closed. net.Server's
    // close, not http.Server's: since Node 19 the latter also closes idle keep-alive connections
    // at once, and closing them is closeIdle's decision (after a drain's linger).
    const closed = this.servers.map((server) => new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve())));
    this.serverClosed = Promise.all(closed).then(() => undefined);
  }

  protected closeIdle(): void {
    for (const server of this.servers) server.closeIdleConnections();
    this.webSockets?.goAway();
  }

  protected async closeAll(deadline: number): Promise<void> {
    // Connections whose last response announced Connection: close end once it has flushed;
    // those that went idle meanwhile are closed now. What is left at the deadline is cut.
    for (const server of this.servers) server.closeIdleConnections();
    const remaining = deadline - Date.now();
    if (remaining > 0) await Promise.race([this.serverClosed, delay(remaining)]);
    for (const server of this.servers) server.closeAllConnections();
    for (const socket of [...this.unready]) socket.destroy();
    this.webSockets?.cut();
    await this.serverClosed;
  }
}

const pipelines = new WeakMap<Socket, ConnectionPipeline>();

function pipelineOf(socket: Socket, start: (request: PendingRequest) => void): ConnectionPipeline {
  let pipeline = pipelines.get(socket);
  if (pipeline === undefined) {
    pipeline = new ConnectionPipeline(socket, start);
    pipelines.set(socket, pipeline);
  }
  return pipeline;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
