/**
 * The core's Transport for one request on an llhttp connection: response heads from the shared
 * HTTP/1.1 writer (cached status line and headers, one Date, framing chosen here), bodies with
 * the socket's own backpressure, and the keep-alive decision for the connection.
 */
import type { ResponseHead } from '../../core/response-head.js';
import type { BodyReceiver, ExchangeEvents, Transport } from '../../core/transport.js';
import type { BodyChunk, HeaderPair } from '../../spec/types.js';
import { dateLine, headLines } from '../http1.js';
import type { Connection } from './connection.js';
import type { LlhttpRequest } from './request.js';

/** The `Connection` line a response carries: HTTP/1.0 keep-alive must be said, HTTP/1.1 close must be. */
function connectionLine(request: LlhttpRequest, keepAlive: boolean): string {
  if (!keepAlive) return 'Connection: close\r\n\r\n';
  return request.http10 ? 'Connection: keep-alive\r\n\r\n' : '\r\n';
}

export class LlhttpTransport implements Transport {
  private events: ExchangeEvents | null = null;
  private done = false;
  private chunked = false;
  /** Decided when the head goes out: whether the connection carries another request after this. */
  private keepAlive = true;
  /** A `writeStream` returned false; the connection's next drain is reported. */
  waitingDrain = false;
  /** Status and headers are on the wire. */
  headSent = false;

  constructor(
    private readonly conn: Connection,
    readonly request: LlhttpRequest,
  ) {}

  get isDone(): boolean {
    return this.done;
  }

  readBody(receiver: BodyReceiver): void {
    this.request.attach(receiver);
  }

  pauseBody(): void {
    if (!this.done) this.conn.pauseBody();
  }

  resumeBody(): void {
    if (!this.done) this.conn.resumeBody();
  }

  watch(events: ExchangeEvents): void {
    this.events = events;
  }

  sendWhole(head: ResponseHead, body: BodyChunk | null, contentLength: number, close: boolean): void {
    if (this.done) return;
    const request = this.request;
    const keepAlive = this.conn.mayKeepAlive(request, close);
    const length = contentLength >= 0 ? `Content-Length: ${contentLength}\r\n` : '';
    this.headSent = true;
    // With a body, contentLength is its length (the Transport contract).
    this.conn.writeResponse(headLines(head) + dateLine(head.hasDate) + length + connectionLine(request, keepAlive), body, contentLength);
    this.finish(keepAlive);
  }

  startStream(head: ResponseHead, contentLength: number): void {
    if (this.done) return;
    const request = this.request;
    let keepAlive = this.conn.mayKeepAlive(request, false);
    let framing: string;
    if (contentLength >= 0) {
      framing = `Content-Length: ${contentLength}\r\n`;
    } else if (!request.http10) {
      framing = 'Transfer-Encoding: chunked\r\n';
      this.chunked = true;
    } else {
      // HTTP/1.0 has no chunked coding: the body ends when the connection does.
      framing = '';
      keepAlive = false;
    }
    this.keepAlive = keepAlive;
    this.headSent = true;
    this.conn.writeResponse(headLines(head) + dateLine(head.hasDate) + framing + connectionLine(request, keepAlive), null, 0);
  }

  writeStream(chunk: BodyChunk): boolean {
    if (this.done) return false;
    const writable = this.chunked ? this.conn.writeChunk(chunk) : this.conn.writeBody(chunk);
    if (!writable) this.waitingDrain = true;
    return writable;
  }

  endStream(trailers?: readonly HeaderPair[] | null): void {
    if (this.done) return;
    if (this.chunked) {
      let last = '0\r\n';
      if (trailers !== undefined && trailers !== null) for (const [name, value] of trailers) last += `${name}: ${value}\r\n`;
      this.conn.writeRaw(last + '\r\n');
    }
    this.finish(this.keepAlive);
  }

  refuse(head: ResponseHead, body: Uint8Array): void {
    // llhttp refuses ambiguous framing itself, so this is a second line of defence: answer and
    // close without reading another byte as a request.
    this.sendWhole(head, body, body.byteLength, true);
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    this.conn.abortExchange(this.request);
  }

  // --- from the connection ------------------------------------------------------------------

  onDrain(): void {
    if (!this.waitingDrain || this.done) return;
    this.waitingDrain = false;
    this.events?.onDrain();
  }

  /** The client went away, or the connection gave up on this exchange (a timeout, a bad body). */
  onGone(): void {
    if (this.done) return;
    this.done = true;
    this.events?.onAbort();
  }

  private finish(keepAlive: boolean): void {
    this.done = true;
    this.conn.exchangeDone(this.request, keepAlive);
  }
}
