/**
 * The `socket` a Node request listener sees under tsgi: `req.socket`, `req.connection` and
 * `res.socket`. It is a real Duplex, so the parts of `http.ServerResponse` that cork, write and
 * wait on it (and `stream.finished`, `on-finished`) work unchanged, but it is not a TCP socket:
 * its readable side never yields bytes (the body flows through `req`), and what
 * `ServerResponse` writes into it is the response body only (the head is taken from
 * `_storeHeader`, see response.ts), which goes to tsgi's `send()` through the sink.
 */
import { Duplex } from 'node:stream';

/** Where the response bytes go, and who hears that the app destroyed the socket. */
export interface SocketSink {
  /** Body bytes from the response; call `done` once they are sent (backpressure). */
  write(chunk: Buffer, done: (error?: Error | null) => void): void;
  /** The response has nothing more to write (after every write's `done`). */
  final(done: (error?: Error | null) => void): void;
  /** The socket was destroyed: by the app (`res.destroy()`), or by the exchange itself. */
  destroyed(error: Error | null): void;
  /** The timeout set with `setTimeout` expired; heard before the socket's own 'timeout' listeners, as in node:http. */
  onTimeout(): void;
}

export interface SocketAddresses {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** The request came over TLS, or through a trusted proxy that says so (scope.scheme). */
  encrypted: boolean;
}

const EMPTY = Buffer.alloc(0);

export class BridgeSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: 'IPv4' | 'IPv6' | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** What `http.ServerResponse.assignSocket` links; node:http keeps the same field on net.Socket. */
  _httpMessage: unknown = null;
  private timer: NodeJS.Timeout | null = null;
  private timeoutMs = 0;

  constructor(
    private readonly sink: SocketSink,
    addresses: SocketAddresses,
  ) {
    super({ allowHalfOpen: true, emitClose: true, autoDestroy: false });
    this.remoteAddress = addresses.remoteAddress;
    this.remotePort = addresses.remotePort;
    this.remoteFamily = addresses.remoteAddress === undefined ? undefined : addresses.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
    this.localAddress = addresses.localAddress;
    this.localPort = addresses.localPort;
    // Express's req.protocol and req.secure read this, as they would on a TLSSocket.
    if (addresses.encrypted) (this as { encrypted?: boolean }).encrypted = true;
  }

  override _read(): void {
    // Nothing arrives here: the request body is pushed into `req` by the exchange.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.touch();
    this.sink.write(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.touch();
    // res.end(data) queues the data and an empty write: no copy for what is really one chunk.
    let only: Buffer | null = null;
    let count = 0;
    for (const entry of chunks) {
      if (entry.chunk.byteLength > 0) {
        only = entry.chunk;
        count++;
      }
    }
    if (count <= 1) this.sink.write(only ?? EMPTY, callback);
    else this.sink.write(Buffer.concat(chunks.map((entry) => entry.chunk)), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.sink.final(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearTimer();
    this.sink.destroyed(error);
    callback(error);
  }

  // --- what code written for net.Socket calls -------------------------------------------------

  address(): { address: string; port: number; family: string } | Record<string, never> {
    if (this.localAddress === undefined) return {};
    return { address: this.localAddress, port: this.localPort ?? 0, family: this.localAddress.includes(':') ? 'IPv6' : 'IPv4' };
  }

  /**
   * `socket.setTimeout(ms)` as on net.Socket: 'timeout' after `ms` without writes (0 turns it
   * off). `req.setTimeout` and `res.setTimeout` land here; the exchange relays the event to them.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback !== undefined) this.once('timeout', callback);
    this.timeoutMs = ms;
    this.touch();
    return this;
  }

  setNoDelay(): this {
    // tsgi's acceptors already write without Nagle delay.
    return this;
  }

  setKeepAlive(): this {
    // Keep-alive belongs to the server's connection, which tsgi manages.
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** What node:http calls when a response ends a connection; here the exchange closes it. */
  destroySoon(): void {
    this.destroy();
  }

  /** Request bytes arrived (through `req`): like a read on a net.Socket, it restarts the timeout. */
  activity(): void {
    this.touch();
  }

  /** The response is over and the socket let go: no timeout may fire for it any more. */
  release(): void {
    this.timeoutMs = 0;
    this.clearTimer();
  }

  private touch(): void {
    this.clearTimer();
    if (this.timeoutMs > 0 && !this.destroyed) {
      this.timer = setTimeout(() => this.expire(), this.timeoutMs);
      this.timer.unref();
    }
  }

  private expire(): void {
    this.timer = null;
    this.sink.onTimeout();
    this.emit('timeout');
  }

  private clearTimer(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }
}
