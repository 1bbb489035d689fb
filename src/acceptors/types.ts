/** What the server layer needs from any acceptor. */
import type { RequestHandler } from '../core/transport.js';

export type BackendName = 'uws' | 'node';

export interface AcceptorOptions {
  host: string;
  port: number;
  /** Largest request line plus headers, in bytes (431 beyond). */
  maxHeaderSize: number;
}

export interface Acceptor {
  readonly backend: BackendName;
  /**
   * Starts listening. `onListening` runs with the bound port before the first request can
   * arrive, so the handler can learn SERVER_PORT when port 0 was asked for.
   */
  listen(handler: RequestHandler, onListening: (port: number) => void): Promise<number>;
  /**
   * Stops accepting, lets in-flight exchanges finish for up to `graceMs`, then closes every
   * connection that is left.
   */
  close(graceMs: number): Promise<void>;
}
