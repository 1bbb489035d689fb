/**
 * The portable acceptor on Node's http module (llhttp underneath, with IncomingMessage and
 * ServerResponse per request): the most compatible backend, and the slowest.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { refusal } from '../http1.js';
import { AcceptorBase } from '../lifecycle.js';
import type { AcceptorLog, AcceptorOptions } from '../types.js';
import { NodeHead } from './head.js';
import { NodeTransport, type NodeTransportHost } from './transport.js';
import { NodeWebSockets } from './websockets.js';

/** The status the server answers a parse error with, from llhttp's error code. */
function statusForClientError(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

export class NodeAcceptor extends AcceptorBase implements NodeTransportHost {
  private readonly server: http.Server;
  private webSockets: NodeWebSockets | null = null;
  private readonly head = new NodeHead();
  private serverClosed: Promise<void> = Promise.resolve();

  constructor(options: AcceptorOptions, log: AcceptorLog) {
    super(options, log);
    this.server = http.createServer({
      maxHeaderSize: options.maxHeaderSize,
      requireHostHeader: true,
    });
    this.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, false));
    // Answering 100 Continue is deferred until the core decides to read the body, so a body
    // over the limit gets its 413 without the client ever sending it.
    this.server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => this.onRequest(req, res, true));
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.onClientError(error, socket));
  }

  protected bind(webSockets: boolean, onListening: (port: number) => void): Promise<number> {
    if (webSockets) {
      // Without an 'upgrade' listener Node serves upgrade requests as plain requests.
      const sockets = new NodeWebSockets(this.options.webSocket, this, (head, upgrade) => this.dispatchUpgrade(head, upgrade));
      this.webSockets = sockets;
      this.server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => sockets.onUpgrade(req, socket, head));
    }
    return new Promise((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        reject(new Error(`cannot listen on ${this.options.host}:${this.options.port}: ${error.code ?? error.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        const address = this.server.address();
        const port = typeof address === 'object' && address !== null ? address.port : this.options.port;
        onListening(port);
        resolve(port);
      });
    });
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse, expectsContinue: boolean): void {
    const head = this.head;
    head.fill(req);
    const transport = new NodeTransport(req, res, this);
    transport.expectsContinue = expectsContinue;
    this.dispatchRequest(head, transport);
    head.rawHeaders = [];
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    // A response already under way on this connection (pipelining) must not get an error
    // response spliced into its body: cut the connection instead.
    const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || (inProgress != null && inProgress.headersSent === true)) {
      socket.destroy();
      return;
    }
    socket.end(refusal(statusForClientError(error.code)));
  }

  protected stopAccepting(): void {
    // Resolves once every connection, upgraded websockets included, has closed.
    this.serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected closeIdle(): void {
    this.server.closeIdleConnections();
    this.webSockets?.goAway();
  }

  protected async closeAll(deadline: number): Promise<void> {
    // Connections whose last response announced Connection: close end once it has flushed;
    // those that went idle meanwhile are closed now. What is left at the deadline is cut.
    this.server.closeIdleConnections();
    const remaining = deadline - Date.now();
    if (remaining > 0) await Promise.race([this.serverClosed, delay(remaining)]);
    this.server.closeAllConnections();
    this.webSockets?.cut();
    await this.serverClosed;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
