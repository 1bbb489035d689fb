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
import type { BodyChunk } from '../../spec/types.js';
import type { ResponseHead } from '../../core/response-head.js';
import type { BodyReceiver, ExchangeEvents, PeerAddressSource, Transport } from '../../core/transport.js';
import type { UwsResponse } from './types.js';

const EMPTY = new Uint8Array(0);
const NOOP = (): void => {};

/**
 * The head as one block for `writeStatus`: uWS writes `HTTP/1.1 ` + it + CRLF, so the headers
 * ride on the status and a response costs one native call for its whole head. The block is kept
 * as Latin-1 bytes: uWS reads a Uint8Array in place, while a JS string is converted (UTF-16 to
 * UTF-8) on every call. uWS always writes its own Date, so an app's Date is left out. Built once
 * per head and cached in `head.wire`.
 */
export function encodeHead(head: ResponseHead): Uint8Array {
  let block = head.wire as Uint8Array | null;
  if (block === null) {
    let text = head.status;
    for (const [name, value] of head.headers) {
      if (head.hasDate && name.length === 4 && name.toLowerCase() === 'date') continue;
      text += '\r\n' + name + ': ' + value;
    }
    block = Buffer.from(text, 'latin1');
    head.wire = block;
  }
  return block;
}

/** The head plus a Content-Length line (HEAD responses, which send no body to count). */
function headWithLength(head: ResponseHead, contentLength: number): string {
  return Buffer.from(encodeHead(head)).toString('latin1') + '\r\nContent-Length: ' + contentLength;
}

let warnedLatePeerRead = false;

export interface UwsTransportHost {
  /** The server is shutting down: responses close their connection. */
  readonly closing: boolean;
  /** Called once when the exchange is over (ended or aborted), for connection accounting. */
  exchangeEnded(): void;
  warn(message: string): void;
}

export class UwsTransport implements Transport, PeerAddressSource {
  /** True while uWS is inside our request handler (already corked, onAborted not yet needed). */
  inHandler = true;
  private done = false;
  /** uWS reported the connection gone; `res` must never be touched again. */
  private socketGone = false;
  private abortHooked = false;
  private events: ExchangeEvents | null = null;
  private receiver: BodyReceiver | null = null;
  private paused = false;
  /** Inside our onData callback (see pauseBody). */
  private inData = false;
  private repauseScheduled = false;
  /** Announced body length for tryEnd; -1 for chunked writes. */
  private totalSize = -1;
  /** A known-length chunk uWS could not take whole, and the write offset it started at. */
  private pending: Uint8Array | null = null;
  private pendingStart = 0;
  /** Chunks written (legacy write()) while `pending` waits; sent in order after it. */
  private backlog: Uint8Array[] | null = null;
  private writableHooked = false;
  private peer: string | null = null;

  constructor(
    private readonly res: UwsResponse,
    private readonly host: UwsTransportHost,
  ) {}

  get isDone(): boolean {
    return this.done;
  }

  peerAddress(): string {
    if (this.peer !== null) return this.peer;
    if (this.done) {
      // The HttpResponse is gone; uWS cannot tell us any more.
      if (!warnedLatePeerRead) {
        warnedLatePeerRead = true;
        this.host.warn(
          "environ.REMOTE_ADDR was first read after its response ended, so it is ''. On the uws " +
            'backend read it while the request is in progress (or in the body\'s close()).',
        );
      }
      return '';
    }
    this.peer = Buffer.from(this.res.getRemoteAddressAsText()).toString('latin1');
    return this.peer;
  }

  readBody(receiver: BodyReceiver): void {
    this.receiver = receiver;
    this.res.onData((chunk: ArrayBuffer, isLast: boolean) => {
      // uWS neuters the ArrayBuffer when this callback returns: copy before keeping it.
      const copy = chunk.byteLength === 0 ? EMPTY : new Uint8Array(chunk.slice(0));
      this.inData = true;
      this.receiver?.onBodyChunk(copy, isLast);
      this.inData = false;
    });
  }

  pauseBody(): void {
    if (this.done || this.paused) return;
    this.paused = true;
    this.res.pause();
    // A pause made inside onData does not always hold: after a resume, uWS re-arms the socket
    // when the callback returns and keeps delivering (with bare uWS, 3-10 MB per 100 ms). Pausing
    // again once the callback is over does hold, so the extra reading stays a burst of a few MB.
    if (this.inData && !this.repauseScheduled) {
      this.repauseScheduled = true;
      setImmediate(() => {
        this.repauseScheduled = false;
        if (this.paused && !this.done) this.res.pause();
      });
    }
  }

  resumeBody(): void {
    if (this.done || !this.paused) return;
    this.paused = false;
    this.res.resume();
  }

  watch(events: ExchangeEvents): void {
    this.events = events;
    // A response that already completed (tryEnd reached its length) must not be touched.
    if (!this.done) this.hookAborted();
  }

  /**
   * Registers onAborted if nothing has yet. uWS aborts the whole process when a handler returns
   * with a response neither ended nor watched, so the acceptor calls this after every dispatch.
   */
  hookAborted(): void {
    if (this.abortHooked) return;
    this.abortHooked = true;
    this.res.onAborted(() => {
      this.socketGone = true;
      if (this.done) return;
      this.markDone();
      this.events?.onAbort();
    });
  }

  sendWhole(head: ResponseHead, body: BodyChunk | null, contentLength: number, close: boolean): void {
    if (this.done) return;
    if (this.inHandler) this.writeWhole(head, body, contentLength, close);
    else this.res.cork(() => this.writeWhole(head, body, contentLength, close));
  }

  private writeWhole(head: ResponseHead, body: BodyChunk | null, contentLength: number, close: boolean): void {
    const res = this.res;
    this.resumeIfPaused();
    close ||= this.host.closing;
    if (body !== null) {
      // uWS adds Content-Length for a body passed to end().
      res.writeStatus(encodeHead(head));
      this.markDone();
      res.end(body, close);
    } else if (contentLength === 0) {
      res.writeStatus(encodeHead(head));
      this.markDone();
      res.end('', close);
    } else {
      // HEAD announces the length itself; 204/304 have no framing header at all. Only the
      // argument-less endWithoutBody() ends the response: endWithoutBody(n) waits for n body
      // bytes, and an explicit undefined is read as such a length (uWS then aborts the process
      // when the handler returns), so `close` cannot be honoured here.
      res.writeStatus(contentLength > 0 ? headWithLength(head, contentLength) : encodeHead(head));
      this.markDone();
      res.endWithoutBody();
    }
  }

  startStream(head: ResponseHead, contentLength: number): void {
    if (this.done) return;
    this.totalSize = contentLength;
    const block = encodeHead(head);
    if (this.inHandler) this.res.writeStatus(block);
    else this.res.cork(() => this.res.writeStatus(block));
  }

  writeStream(chunk: BodyChunk): boolean {
    if (this.done) return false;
    if (this.pending !== null) {
      // The core only writes again after onDrain; a legacy write() may not wait, so queue it.
      (this.backlog ??= []).push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
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
    // After the last byte the response may not be touched, so an unread upload must be let go
    // before (uWS then discards it and the connection stays usable).
    if (start + bytes.byteLength >= this.totalSize) this.resumeIfPaused();
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
    if (pending === null) {
      // Once onWritable is registered uWS stops draining its own buffer on writable events;
      // an empty cork/uncork flushes it, so chunked bytes already queued do not wait for the app.
      this.res.cork(NOOP);
    } else {
      const rest = pending.subarray(offset - this.pendingStart);
      if (offset + rest.byteLength >= this.totalSize) this.resumeIfPaused();
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
      const backlog = this.backlog;
      while (backlog !== null && backlog.length > 0) {
        if (!this.writeNow(backlog.shift()!)) return false;
        if (this.done) return true;
      }
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
    this.res.end(undefined, this.host.closing);
  }

  refuse(): void {
    if (this.done) return;
    // Only an immediate close stops uWS from serving the bytes after this request (a smuggled
    // request); it also drops anything corked, so no answer can be sent.
    this.markDone();
    this.res.close();
  }

  abort(): void {
    if (this.done) return;
    this.markDone();
    // res.close() drops what is still corked, so close once the written bytes have left: after
    // the handler (or this tick's cork) flushed them. uWS must know we still own the response.
    this.hookAborted();
    setImmediate(() => {
      if (!this.socketGone) this.res.close();
    });
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
