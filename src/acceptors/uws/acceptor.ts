/**
 * The uWebSockets.js acceptor: uWS parses HTTP in C++, and this file turns each request into a
 * `RequestHead` plus a `UwsTransport` for the core.
 *
 * `HttpRequest` is only valid until the handler returns, so everything the core needs is read
 * during `dispatch`; the head object is reused for every request (nothing keeps it).
 */
import cluster from 'node:cluster';
import type { HeaderVisitor, PeerAddressSource, RequestHead } from '../../core/transport.js';
import { AcceptorBase } from '../lifecycle.js';
import { clearStaleSocket, formatTarget, setSocketMode, type BoundTarget, type ListenTarget } from '../listen.js';
import type { TlsConfig } from '../tls.js';
import type { AcceptorLog, AcceptorOptions } from '../types.js';
import { UwsTransport, type UwsTransportHost } from './transport.js';
import type { UwsApp, UwsListenSocket, UwsModule, UwsRequest, UwsResponse, UwsSslOptions } from './types.js';
import { UwsWebSockets, type UwsWebSocketHost } from './websockets.js';

/**
 * Loads uWebSockets.js, or throws with the reason. uWS reads its header-size limit from the
 * environment when the native module loads, so the first server in a process fixes it.
 */
export async function loadUws(maxHeaderSize: number): Promise<UwsModule> {
  if (process.env.UWS_HTTP_MAX_HEADERS_SIZE === undefined) {
    process.env.UWS_HTTP_MAX_HEADERS_SIZE = String(maxHeaderSize);
  }
  const specifier = 'uWebSockets.js';
  const loaded = (await import(specifier)) as Record<string, unknown>;
  // uws-pack exports named bindings; the official build is CommonJS (a default export).
  const candidate = (typeof loaded.App === 'function' ? loaded : loaded.default) as UwsModule | undefined;
  if (candidate === undefined || typeof candidate.App !== 'function') {
    throw new Error('the installed uWebSockets.js package has no App() export');
  }
  return candidate;
}

class UwsHead implements RequestHead {
  method = '';
  rawPath = '';
  query = '';
  protocol = 'HTTP/1.1';
  readonly remoteAddress = '';
  peer: PeerAddressSource | null = null;
  remotePort = '';
  request: UwsRequest | null = null;

  forEachHeader(visit: HeaderVisitor): void {
    this.request!.forEach(visit);
  }
}

export class UwsAcceptor extends AcceptorBase implements UwsTransportHost, UwsWebSocketHost {
  private readonly app: UwsApp;
  private listenSockets: UwsListenSocket[] = [];
  private webSockets: UwsWebSockets | null = null;
  private readonly head = new UwsHead();

  constructor(
    private readonly uws: UwsModule,
    options: AcceptorOptions,
    log: AcceptorLog,
  ) {
    super(options, log);
    this.app = options.tls === null ? uws.App() : uws.SSLApp(sslOptions(options.tls));
    this.app.any('/*', (res, req) => this.onRequest(res, req));
  }

  protected async bind(webSockets: boolean, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]> {
    if (webSockets) {
      // Without this route, upgrade requests reach the HTTP route like any other request.
      this.webSockets = new UwsWebSockets(this.options.webSocket, this, (head, upgrade) => this.dispatchUpgrade(head, upgrade));
      this.app.ws('/*', this.webSockets.behavior());
    }
    const bound: BoundTarget[] = [];
    try {
      for (const target of this.options.listeners) bound.push(await this.listenOn(target));
    } catch (error) {
      this.closeListener();
      throw error;
    }
    onListening(bound);
    return bound;
  }

  private async listenOn(target: ListenTarget): Promise<BoundTarget> {
    if (target.kind === 'unix') {
      // Each uWS worker has its own socket (no cluster sharing), and uSockets removes whatever
      // file is at the path before binding: a second worker would steal the first one's address.
      if (cluster.isWorker) throw new Error(`uWebSockets.js workers cannot share a unix socket (${formatTarget(target)}); use --backend llhttp or --backend node`);
      await clearStaleSocket(target.path);
    }
    return new Promise((resolve, reject) => {
      const done = (socket: UwsListenSocket | false): void => {
        if (socket === false) {
          const why = target.kind === 'unix' ? 'the directory may not be writable' : 'the port may be in use or the host not an address of this machine';
          reject(new Error(`cannot listen on ${formatTarget(target)} (uWebSockets.js refused: ${why})`));
          return;
        }
        this.listenSockets.push(socket);
        if (target.kind === 'unix') {
          try {
            setSocketMode(target.path, this.options.unixMode);
          } catch (error) {
            reject(error);
            return;
          }
        }
        resolve(target.kind === 'tcp' ? { ...target, port: this.uws.us_socket_local_port(socket) } : target);
      };
      if (target.kind === 'tcp') this.app.listen(target.host, target.port, done);
      else if (target.kind === 'unix') this.app.listen_unix(done, target.path);
      else reject(new Error(`uWebSockets.js cannot listen on an inherited socket (${formatTarget(target)}); use --backend llhttp or --backend node`));
    });
  }

  private onRequest(res: UwsResponse, req: UwsRequest): void {
    const head = this.head;
    head.request = req;
    head.method = req.getCaseSensitiveMethod();
    head.rawPath = req.getUrl();
    head.query = req.getQuery() ?? '';
    head.remotePort = res.getRemotePort === undefined ? '' : String(res.getRemotePort());
    const transport = new UwsTransport(res, this);
    head.peer = transport;
    this.dispatchRequest(head, transport);
    head.request = null;
    head.peer = null;
    transport.inHandler = false;
    if (!transport.isDone) transport.hookAborted();
  }

  warn(message: string): void {
    this.log.warning(message);
  }

  protected closeListener(): void {
    for (const socket of this.listenSockets) this.uws.us_listen_socket_close(socket);
    this.listenSockets = [];
  }

  protected closeIdle(): void {
    // Websockets never finish on their own: they get a 1001 close frame now, ahead of the cut.
    // (uWS offers no way to find idle keep-alive connections; closeAll drops them.)
    this.webSockets?.closeAll();
  }

  protected async closeAll(): Promise<void> {
    // Drops idle keep-alive connections, websockets still closing, and anything still running
    // after the grace period.
    this.app.close?.();
  }
}

function sslOptions(config: TlsConfig): UwsSslOptions {
  const options: UwsSslOptions = { cert_file_name: config.certfile, key_file_name: config.keyfile };
  if (config.keyfilePassword !== '') options.passphrase = config.keyfilePassword;
  if (config.caCerts !== '' && config.requestCert) options.ca_file_name = config.caCerts;
  if (config.ciphers !== '') options.ssl_ciphers = config.ciphers;
  return options;
}
