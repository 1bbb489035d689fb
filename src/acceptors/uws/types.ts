/**
 * The slice of uWebSockets.js's API tsgi uses, typed here so the code compiles whether the
 * installed package is uws-pack or the official build (their bundled typings differ in shape).
 */
export interface UwsResponse {
  writeStatus(status: string | Uint8Array): UwsResponse;
  writeHeader(name: string, value: string): UwsResponse;
  write(chunk: string | Uint8Array): boolean;
  end(body?: string | Uint8Array, closeConnection?: boolean): UwsResponse;
  endWithoutBody(reportedContentLength?: number, closeConnection?: boolean): UwsResponse;
  tryEnd(chunk: Uint8Array, totalSize: number): [boolean, boolean];
  getWriteOffset(): number;
  onWritable(handler: (offset: number) => boolean): UwsResponse;
  onAborted(handler: () => void): UwsResponse;
  onData(handler: (chunk: ArrayBuffer, isLast: boolean) => void): UwsResponse;
  getRemoteAddressAsText(): ArrayBuffer;
  /** Only in builds that expose the peer's port. */
  getRemotePort?: () => number;
  cork(callback: () => void): UwsResponse;
  pause(): void;
  resume(): void;
  close(): UwsResponse;
  /**
   * Turns the connection into a websocket: writes the 101 (after any status and headers already
   * written) and calls the behavior's `open` before returning.
   */
  upgrade<T extends object>(userData: T, secWebSocketKey: string, secWebSocketProtocol: string, secWebSocketExtensions: string, context: UwsSocketContext): void;
}

export interface UwsRequest {
  getCaseSensitiveMethod(): string;
  getUrl(): string;
  getQuery(): string | undefined;
  forEach(visit: (key: string, value: string) => void): void;
  /** A header's value by lower-case name; '' when absent. */
  getHeader(lowerName: string): string;
}

/** uWS's websocket context for `res.upgrade`, opaque to JS. */
export type UwsSocketContext = object;

/**
 * An open websocket, valid from `open` until `close` returns (any call after that throws).
 * `T` is the user data passed to `res.upgrade`, whose fields uWS copies onto this object.
 */
export type UwsWebSocket<T extends object> = T & {
  /** 1 sent, 0 sent with backpressure building, 2 dropped (over maxBackpressure). */
  send(message: string | Uint8Array, isBinary: boolean): number;
  getBufferedAmount(): number;
  /** Sends a close frame; the `close` handler runs before this returns. */
  end(code: number, reason: string): void;
  getUserData(): UwsWebSocket<T>;
};

export interface UwsWebSocketBehavior<T extends object> {
  maxPayloadLength: number;
  idleTimeout: number;
  sendPingsAutomatically: boolean;
  maxBackpressure: number;
  closeOnBackpressureLimit: boolean;
  /** 0 (uWS.DISABLED): no permessage-deflate. */
  compression: number;
  upgrade(res: UwsResponse, req: UwsRequest, context: UwsSocketContext): void;
  open(ws: UwsWebSocket<T>): void;
  /** `message` is neutered when the handler returns. */
  message(ws: UwsWebSocket<T>, message: ArrayBuffer, isBinary: boolean): void;
  drain(ws: UwsWebSocket<T>): void;
  close(ws: UwsWebSocket<T>, code: number, message: ArrayBuffer): void;
}

export type UwsListenSocket = object;

export interface UwsApp {
  any(pattern: string, handler: (res: UwsResponse, req: UwsRequest) => void): UwsApp;
  ws<T extends object>(pattern: string, behavior: UwsWebSocketBehavior<T>): UwsApp;
  listen(host: string, port: number, callback: (socket: UwsListenSocket | false) => void): UwsApp;
  listen_unix(callback: (socket: UwsListenSocket | false) => void, path: string): UwsApp;
  close?(): UwsApp;
}

export interface UwsModule {
  App(options?: object): UwsApp;
  SSLApp(options: UwsSslOptions): UwsApp;
  us_listen_socket_close(socket: UwsListenSocket): void;
  us_socket_local_port(socket: UwsListenSocket): number;
}

/** uWS's SSLApp options: file names, not contents. */
export interface UwsSslOptions {
  cert_file_name: string;
  key_file_name: string;
  passphrase?: string;
  ca_file_name?: string;
  ssl_ciphers?: string;
}
