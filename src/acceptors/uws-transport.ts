/**
 * The core's Transport on a uWebSockets.js HttpResponse.
 *
 * Rules this file lives by (uWS's own):
 * - An HttpResponse must not be touched after `onAborted` fired or after the response ended;
 *   `done` guards every call.
 * - Writes outside the request handler are wrapped in `res.cork` so a burst leaves in one
 *   syscall; inside the handler uWS has already corked.
 * - Known-length bodies go through `tryEnd`, unknown-length ones through `write` (chunked);
 *   both wait for `onWritable` instead of buffering without bound.
 */
import type { BodyChunk, HeaderPair } from '../spec/types.js';
import type { BodyReceiver, ExchangeEvents, Transport } from '../core/transport.js';
import type { UwsResponse } from './uws-types.js';

const EMPTY = new Uint8Array(0);

/** One header block: uWS writes `HTTP/1.1 ` + this + CRLF, so headers can ride on the status. */
export function encodeHead(status: string, headers: readonly HeaderPair[], contentLength: string | null): string {
  let block = status;
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    block += '\r\n' + header[0] + ': ' + header[1];
  }
  if (contentLength !== null) block += '\r\nContent-Length: ' + contentLength;
  return block;
}

export interface UwsTransportHost {
  /** Called once when the exchange is over (ended or aborted), for connection accounting. */
  exchangeEnded(): void;
}

export class UwsTransport implements Transport {
  /** True while uWS is inside our request handler (already corked, onAborted not yet needed). */
  inHandler = true;
  private done = false;
  private events: ExchangeEvents | null = null;
  private receiver: BodyReceiver | null = null;
  private paused = false;
  /** Announced body length for tryEnd; -1 for chunked writes. */
  private totalSize = -1;
  /** A known-length chunk uWS could not take whole, and the write offset it started at. */
  private pending: Uint8Array | null = null;
  private pendingStart = 0;
  private writableHooked = false;

  constructor(
    private readonly res: UwsResponse,
    private readonly host: UwsTransportHost,
  ) {}

  get isDone(): boolean {
    return this.done;
  }

  readBody(receiver: BodyReceiver): void {
    this.receiver = receiver;
    this.res.onData((chunk: ArrayBuffer, isLast: boolean) => {
      // uWS neuters the ArrayBuffer when this callback returns: copy before keeping it.
      const copy = chunk.byteLength === 0 ? EMPTY : new Uint8Array(chunk.slice(0));
      this.receiver?.onBodyChunk(copy, isLast);
    });
  }

  pauseBody(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.res.pause();
  }

  resumeBody(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.res.resume();
  }

  watch(events: ExchangeEvents): void {
    this.events = events;
    this.res.onAborted(() => {
      if (this.done) return;
      this.markDone();
      this.events?.onAbort();
    });
  }

  sendWhole(status: string, headers: readonly HeaderPair[], body: BodyChunk | null, contentLength: number, close: boolean): void {
    if (this.done) return;
    if (this.inHandler) this.writeWhole(status, headers, body, contentLength, close);
    else this.res.cork(() => this.writeWhole(status, headers, body, contentLength, close));
  }

  private writeWhole(status: string, headers: readonly HeaderPair[], body: BodyChunk | null, contentLength: number, close: boolean): void {
    const res = this.res;
    this.resumeIfPaused();
    if (body !== null) {
      // uWS adds Content-Length for a body passed to end().
      res.writeStatus(encodeHead(status, headers, null));
      this.markDone();
      res.end(body, close);
    } else if (contentLength > 0) {
      // HEAD: announce the length, send nothing. (endWithoutBody(n) would wait for n bytes.)
      res.writeStatus(encodeHead(status, headers, String(contentLength)));
      this.markDone();
      res.endWithoutBody(undefined, close);
    } else if (contentLength === 0) {
      res.writeStatus(encodeHead(status, headers, null));
      this.markDone();
      res.end(undefined, close);
    } else {
      // 204/304: no body and no framing header.
      res.writeStatus(encodeHead(status, headers, null));
      this.markDone();
      res.endWithoutBody(undefined, close);
    }
  }

  startStream(status: string, headers: readonly HeaderPair[], contentLength: number): void {
    if (this.done) return;
    this.totalSize = contentLength;
    const head = encodeHead(status, headers, null);
    if (this.inHandler) this.res.writeStatus(head);
    else this.res.cork(() => this.res.writeStatus(head));
  }

  writeStream(chunk: BodyChunk): boolean {
    if (this.done) return false;
    if (this.pending !== null) {
      // The core only writes again after onDrain; a legacy write() may not wait, so join it.
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      this.pending = Buffer.concat([this.pending, bytes]);
      return false;
    }
    let ok = true;
    if (this.inHandler) ok = this.writeNow(chunk);
    else this.res.cork(() => {
      ok = this.writeNow(chunk);
    });
    if (!ok) this.hookWritable();
    return ok;
  }

  private writeNow(chunk: BodyChunk): boolean {
    if (this.totalSize === -1) return this.res.write(chunk);
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const start = this.res.getWriteOffset();
    const [ok, responded] = this.res.tryEnd(bytes, this.totalSize);
    if (responded) {
      this.markDone();
      return true;
    }
    if (!ok) {
      this.pending = bytes;
      this.pendingStart = start;
    }
    return ok;
  }

  private hookWritable(): void {
    if (this.writableHooked) return;
    this.writableHooked = true;
    this.res.onWritable((offset: number) => this.onWritable(offset));
  }

  private onWritable(offset: number): boolean {
    if (this.done) return true;
    const pending = this.pending;
    if (pending !== null) {
      const rest = pending.subarray(offset - this.pendingStart);
      const [ok, responded] = this.res.tryEnd(rest, this.totalSize);
      if (responded) {
        this.pending = null;
        this.markDone();
        this.events?.onDrain();
        return true;
      }
      if (!ok) {
        this.pending = rest;
        this.pendingStart = offset;
        return false;
      }
      this.pending = null;
    }
    this.events?.onDrain();
    return true;
  }

  endStream(): void {
    if (this.done) return;
    // A known-length body completes itself in tryEnd once its last byte is written.
    if (this.totalSize !== -1 && this.pending !== null) return;
    if (this.inHandler) this.finishChunked();
    else this.res.cork(() => this.finishChunked());
  }

  private finishChunked(): void {
    this.resumeIfPaused();
    this.markDone();
    this.res.end();
  }

  abort(): void {
    if (this.done) return;
    this.markDone();
    this.res.close();
  }

  private resumeIfPaused(): void {
    // A body the app never read must still be drained by uWS for the connection to be reused.
    if (this.paused) {
      this.paused = false;
      this.res.resume();
    }
  }

  private markDone(): void {
    if (this.done) return;
    this.done = true;
    this.receiver = null;
    this.host.exchangeEnded();
  }
}
