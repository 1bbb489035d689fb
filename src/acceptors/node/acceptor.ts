/**
 * The portable acceptor on Node's http module (llhttp underneath): same contract as the uWS one,
 * for platforms and Node versions where uWebSockets.js cannot load.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHandler } from '../../core/transport.js';
import { reasonPhrase } from '../../core/server-responses.js';
import type { Acceptor, AcceptorLog, AcceptorOptions, Handlers } from '../types.js';
import { NodeHead } from './head.js';
import { NodeTransport, type NodeTransportHost } from './transport.js';
import { NodeWebSockets, type NodeWebSocketHost } from './websockets.js';

/** The status the server answers a parse error with, from llhttp's error code. */
function statusForClientError(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

export class NodeAcceptor implements Acceptor, NodeTransportHost, NodeWebSocketHost {
  private readonly server: http.Server;
  private handler: RequestHandler | null = null;
  private webSockets: NodeWebSockets | null = null;
  private readonly head = new NodeHead();
  closing = false;

  constructor(
    private readonly options: AcceptorOptions,
    private readonly log: AcceptorLog,
  ) {
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

  listen(handlers: Handlers, onListening: (port: number) => void): Promise<number> {
    this.handler = handlers.request;
    if (handlers.upgrade !== null) {
      // Without an 'upgrade' listener Node serves upgrade requests as plain requests.
      const webSockets = new NodeWebSockets(handlers.upgrade, this.options.webSocket, this);
      this.webSockets = webSockets;
      this.server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => webSockets.onUpgrade(req, socket, head));
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
    try {
      this.handler!.dispatch(head, transport);
    } catch (error) {
      this.log.internalError(`internal error while dispatching a request: ${(error as Error).stack ?? String(error)}`);
      transport.abort();
    }
    head.rawHeaders = [];
  }

  internalError(message: string): void {
    this.log.internalError(message);
  }

  private onClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    // A response already under way on this connection (pipelining) must not get an error
    // response spliced into its body: cut the connection instead.
    const inProgress = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || (inProgress != null && inProgress.headersSent === true)) {
      socket.destroy();
      return;
    }
    const status = statusForClientError(error.code);
    const reason = reasonPhrase(status);
    const body = `${reason}\n`;
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }

  async close(graceMs: number): Promise<void> {
    this.closing = true;
    let closed = false;
    const allClosed = new Promise<void>((resolve) =>
      this.server.close(() => {
        closed = true;
        resolve();
      }),
    );
    // Websockets are not the http server's connections any more: they close (and are cut at the
    // deadline) on their own, and the server's 'close' waits for their sockets too.
    const webSocketsClosed = this.webSockets?.close(graceMs);
    // close() stops listening; connections still serving a request finish it and are closed as
    // soon as they turn idle. Whatever is left when the grace period ends is cut.
    const deadline = Date.now() + graceMs;
    while (!closed && Date.now() < deadline) {
      this.server.closeIdleConnections();
      await Promise.race([allClosed, delay(25)]);
    }
    this.server.closeAllConnections();
    await webSocketsClosed;
    await allClosed;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
