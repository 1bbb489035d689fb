/** What the server layer needs from any acceptor. */
import type { RequestHandler } from '../core/transport.js';
import type { UpgradeHandler, WebSocketLimits } from '../core/websocket-transport.js';

export type BackendName = 'uws' | 'node';

export interface AcceptorOptions {
  host: string;
  port: number;
  /** Largest request line plus headers, in bytes (431 beyond). */
  maxHeaderSize: number;
  /** Applied to every websocket when an upgrade handler is given. */
  webSocket: WebSocketLimits;
}

/** What the core gives an acceptor to serve. */
export interface Handlers {
  request: RequestHandler;
  /** Websocket upgrades go here; null means upgrade requests are ordinary requests. */
  upgrade: UpgradeHandler | null;
}

export interface Acceptor {
  readonly backend: BackendName;
  /** Whether streamed HTTP/1.1 responses can end with trailers (`Transport.endStream(trailers)`). */
  readonly canSendTrailers: boolean;
  /**
   * Starts listening. `onListening` runs with the bound port before the first request can
   * arrive, so the handler can learn SERVER_PORT when port 0 was asked for.
   */
  listen(handlers: Handlers, onListening: (port: number) => void): Promise<number>;
  /**
   * Stops accepting, lets in-flight exchanges finish for up to `graceMs`, then closes every
   * connection that is left.
   */
  close(graceMs: number): Promise<void>;
}
