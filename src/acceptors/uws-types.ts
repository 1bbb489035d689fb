/**
 * The slice of uWebSockets.js's API tsgi uses, typed here so the code compiles whether the
 * installed package is uws-pack or the official build (their bundled typings differ in shape).
 */
export interface UwsResponse {
  writeStatus(status: string): UwsResponse;
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
}

export interface UwsRequest {
  getCaseSensitiveMethod(): string;
  getUrl(): string;
  getQuery(): string | undefined;
  forEach(visit: (key: string, value: string) => void): void;
}

export type UwsListenSocket = object;

export interface UwsApp {
  any(pattern: string, handler: (res: UwsResponse, req: UwsRequest) => void): UwsApp;
  listen(host: string, port: number, callback: (socket: UwsListenSocket | false) => void): UwsApp;
  close?(): UwsApp;
}

export interface UwsModule {
  App(options?: object): UwsApp;
  us_listen_socket_close(socket: UwsListenSocket): void;
  us_socket_local_port(socket: UwsListenSocket): number;
}
