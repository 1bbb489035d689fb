/** What the server layer needs from a backend and from the acceptor it builds. */
import type { RequestHandler } from '../core/transport.js';
import type { UpgradeHandler, WebSocketLimits } from '../core/websocket-transport.js';
import type { BoundTarget, ListenTarget } from './listen.js';
import type { TlsConfig } from './tls.js';

export interface AcceptorOptions {
  /** Where to listen: one socket per target, all serving the same app. */
  listeners: readonly ListenTarget[];
  /** The kernel's accept queue length for each listening socket. */
  backlog: number;
  /** Permission bits of unix socket files. */
  unixMode: number;
  /** Serve HTTPS with these; null: plain HTTP. */
  tls: TlsConfig | null;
  /** Every connection opens with a PROXY protocol header naming the client. */
  proxyProtocol: boolean;
  /**
   * A listening socket of this process's own with SO_REUSEPORT, rather than (in a worker) the
   * one the cluster module shares. uWebSockets.js always sets it.
   */
  reusePort: boolean;
  /** Largest request line plus headers, in bytes (431 beyond). */
  maxHeaderSize: number;
  /** Longest request line, in bytes (414 beyond). */
  limitRequestLine: number;
  /** Most header fields (431 beyond; the core counts them, a backend's parser may stop earlier). */
  limitRequestFields: number;
  /** Most exchanges in flight before new requests get 503; 0: no limit. */
  limitConcurrency: number;
  /** Responses per connection before it closes; 0: no limit. */
  maxRequestsPerConnection: number;
  /** Connection timeouts, in seconds (docs/spec.md §8 says which backend honours which). */
  timeouts: ConnectionTimeouts;
  /** Applied to every websocket when an upgrade handler is given. */
  webSocket: WebSocketLimits;
  /** Told of every request's start and end; null when nobody watches (the supervisor's workers do). */
  observer: RequestObserver | null;
  /** Told of every client connection's open and close (metrics); null when nobody counts. */
  connectionCounter: ConnectionCounter | null;
}

export interface ConnectionCounter {
  opened(): void;
  closed(): void;
}

/**
 * Watches the requests an acceptor serves: a supervised worker counts them (--max-requests) and
 * keeps the latest one where its watchdog can name it when the event loop stops answering.
 * Called on the hot path: keep it to a few stores.
 */
export interface RequestObserver {
  started(method: string, rawPath: string): void;
  ended(): void;
}

export interface ConnectionTimeouts {
  /** An idle keep-alive connection is closed. */
  keepAlive: number;
  /** A request head that started arriving must be complete (408 beyond). */
  head: number;
  /** A request body the app waits for may stall this long (408, or a cut once answering). */
  body: number;
}

/** Where an acceptor reports what goes wrong inside tsgi itself (never the app's faults). */
export interface AcceptorLog {
  internalError(message: string): void;
  warning(message: string): void;
  /** Things clients do that the operator may want to know about (a timeout, a refused request). */
  info(message: string): void;
}

/** What the core gives an acceptor to serve. */
export interface Handlers {
  request: RequestHandler;
  /** Websocket upgrades go here; null means upgrade requests are ordinary requests. */
  upgrade: UpgradeHandler | null;
}

export interface Acceptor {
  /**
   * Starts listening on every target. `onListening` runs with the bound targets before the first
   * request can arrive, so the handler can learn SERVER_PORT when port 0 was asked for.
   */
  listen(handlers: Handlers, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]>;
  /**
   * Stops accepting, lets in-flight exchanges finish for up to `graceMs`, then closes every
   * connection that is left.
   */
  close(graceMs: number, lingerMs?: number): Promise<void>;
  /** Closes the listening socket only; in-flight and keep-alive connections go on. Idempotent. */
  stopAccepting(): void;
}

/**
 * What a user can observe that differs between backends (docs/spec.md §8). The server reads
 * `trailers`; the test suites read all of them to expect each backend's own answer, so a new
 * backend that declares its traits truthfully inherits every suite.
 */
export interface BackendTraits {
  /** Streamed HTTP/1.1 responses can end with trailers (`Transport.endStream(trailers)`). */
  readonly trailers: boolean;
  /** `REMOTE_PORT` and the port in `scope.client` are the peer's; otherwise `''` and 0. */
  readonly peerPort: boolean;
  /** Header values reach the app as Latin-1 (each byte one character); otherwise as UTF-8. */
  readonly latin1Headers: boolean;
  /** An app's own `Date` header is sent; otherwise the backend's replaces it. */
  readonly keepsAppDate: boolean;
  /** HTTP/1.0 requests are served; otherwise they get 505. */
  readonly http10: boolean;
  /** Requests pipelined behind a response that waits on I/O are answered in order; otherwise the connection is closed. */
  readonly pipelinesAsync: boolean;
  /** `100 Continue` goes out only when the server decides to read the body; otherwise the backend sends it before tsgi sees the request. */
  readonly continueOnDemand: boolean;
  /** Malformed heads (bad request line or header line, missing Host) get a 400; otherwise silence until a timeout. */
  readonly answersMalformed: boolean;
  /** Websocket reads can be paused when the app falls behind (`WebSocketLink.pause`); otherwise a client past the queue's bound is closed with 1008. */
  readonly webSocketPause: boolean;
  /** A websocket message over the size limit gets a 1009 close frame; otherwise the connection is cut (1006). */
  readonly webSocketCloseFrames: boolean;
  /** --timeout-keep-alive, --timeout-head and --timeout-body apply; otherwise the backend keeps fixed timers of its own and refuses other values. */
  readonly timeouts: boolean;
  /** Requests with an `Upgrade` other than websocket (h2c) reach the app as plain requests; otherwise they get 400. */
  readonly servesOtherUpgrades: boolean;
  /**
   * Workers share one listening socket and its accept queue (the cluster module's shared handle),
   * so a worker whose event loop is stuck leaves every new connection to the others; otherwise
   * each worker has its own socket (SO_REUSEPORT) and the kernel may queue a connection on the
   * stuck one until the supervisor replaces it.
   */
  readonly sharedAcceptQueue: boolean;
  /** TLS connections negotiate http/1.1 by ALPN; otherwise the backend takes part in no ALPN (clients fall back to HTTP/1.1). */
  readonly alpn: boolean;
  /** --cert-reqs required is enforced; otherwise client certificates can only be optional and the backend refuses to start. */
  readonly requiredClientCerts: boolean;
  /** --max-requests-per-connection and --backlog apply; otherwise the backend refuses values other than their defaults. */
  readonly connectionLimits: boolean;
  /** The most header fields the backend's own parser lets through (431 beyond), whatever --limit-request-fields says; null: no cap of its own. */
  readonly requestFieldsCap: number | null;
  /** --proxy-protocol can be required of every connection; otherwise the backend refuses it at start-up. */
  readonly proxyProtocol: boolean;
  /** Client connections can be counted as they open and close (the connections_open metric); otherwise the metric is left out. */
  readonly countsConnections: boolean;
}

/**
 * One backend: a folder under src/acceptors/ whose index.ts exports this, plus one line in
 * registry.ts. `open` loads what the backend needs (a native addon, an internal binding) and
 * builds the acceptor, or rejects with the reason it cannot run on this platform or Node.
 */
export interface Backend<Name extends string = string> {
  readonly name: Name;
  /** What runs underneath, for the start-up line: `uWebSockets.js`. */
  readonly label: string;
  /** One sentence for --help: what the backend is and what it trades. */
  readonly summary: string;
  /** Whether `auto` may pick it (in registry order, the first that loads). */
  readonly auto: boolean;
  readonly traits: BackendTraits;
  open(options: AcceptorOptions, log: AcceptorLog): Promise<Acceptor>;
  /** Resolves null when the backend can run here, or the reason it cannot (tests skip on it). */
  probe(): Promise<string | null>;
}
