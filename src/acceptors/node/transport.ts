/**
 * The core's Transport on a node:http ServerResponse. Node's http layer already frames bodies
 * (Content-Length, chunked for HTTP/1.1, close-delimited for HTTP/1.0) and orders pipelined
 * responses; this file maps the core's calls onto it and reports drain and disconnects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyChunk, HeaderPair } from '../../spec/types.js';
import { httpDate } from '../../core/date.js';
import type { ResponseHead } from '../../core/response-head.js';
import { serverResponse } from '../../core/server-responses.js';
import type { BodyReceiver, ExchangeEvents, Transport } from '../../core/transport.js';
import type { AcceptorOptions } from '../types.js';
import type { ConnectionPipeline } from './pipeline.js';

const EMPTY = new Uint8Array(0);
/** How long an aborted response may take to flush before its socket is destroyed. */
const ABORT_FLUSH_MS = 5000;

export interface NodeTransportHost {
  /** The server is shutting down: responses announce that the connection will close. */
  readonly closing: boolean;
  /** Called once when the exchange is over (ended or aborted), for the in-flight count. */
  exchangeEnded(): void;
  /** How long a request body the app waits for may stall. */
  readonly bodyTimeoutMs: number;
  /** A client broke a timeout (logged at info: the client's doing, not the app's). */
  clientTimedOut(message: string): void;
  readonly options: AcceptorOptions;
}

/** What this transport caches in `head.wire`: the reason phrase and the flattened headers. */
interface NodeWire {
  reason: string;
  fields: string[];
}

function wireOf(head: ResponseHead): NodeWire {
  let wire = head.wire as NodeWire | null;
  if (wire === null) {
    const fields: string[] = [];
    for (const [name, value] of head.headers) fields.push(name, value);
    wire = { reason: head.status.slice(4), fields };
    head.wire = wire;
  }
  return wire;
}

/** The head's headers plus the per-response ones: Date, framing, Connection. */
function rawHeaders(head: ResponseHead, wire: NodeWire, contentLength: number, close: boolean): string[] {
  const flat = wire.fields.slice();
  if (!head.hasDate) flat.push('Date', httpDate());
  if (contentLength >= 0) flat.push('Content-Length', String(contentLength));
  if (close) flat.push('Connection', 'close');
  return flat;
}

export class NodeTransport implements Transport {
  private done = false;
  private events: ExchangeEvents | null = null;
  private receiver: BodyReceiver | null = null;
  private drainHooked = false;
  /** The head was given to Node in this turn and no body bytes have followed yet. */
  private headOnly = false;
  private onSocketClose: (() => void) | null = null;
  /** Armed while the app waits for body bytes (reading, not paused, body not complete). */
  private stallTimer: NodeJS.Timeout | null = null;
  /** When the client sent `Expect: 100-continue`, the 100 goes out only if the body is wanted. */
  expectsContinue = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly host: NodeTransportHost,
    private readonly pipeline: ConnectionPipeline,
  ) {
    // The core adds a cached Date itself.
    res.sendDate = false;
  }

  readBody(receiver: BodyReceiver): void {
    if (this.expectsContinue) this.res.writeContinue();
    this.receiver = receiver;
    // Node hands each 'data' event a fresh Buffer, so chunks can be kept without copying.
    // After the response ended the rest of the body is read and dropped (markDone).
    this.req.on('data', (chunk: Buffer) => {
      this.stallTimer?.refresh();
      this.receiver?.onBodyChunk(chunk, false);
    });
    this.req.on('end', () => {
      this.disarmStall();
      this.receiver?.onBodyChunk(EMPTY, true);
    });
    this.armStall();
  }

  pauseBody(): void {
    if (this.done) return;
    // A body the app is not reading is not stalling.
    this.disarmStall();
    this.req.pause();
  }

  resumeBody(): void {
    if (this.done) return;
    this.req.resume();
    this.armStall();
  }

  private armStall(): void {
    if (this.stallTimer !== null || this.req.complete) return;
    this.stallTimer = setTimeout(() => this.onStall(), this.host.bodyTimeoutMs).unref();
  }

  private disarmStall(): void {
    if (this.stallTimer === null) return;
    clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }

  /** No body bytes for the whole body timeout while the app waited: 408 if nothing was sent, else a cut. */
  private onStall(): void {
    this.stallTimer = null;
    if (this.done || this.req.complete) return;
    const seconds = this.host.bodyTimeoutMs / 1000;
    if (this.res.headersSent) {
      this.host.clientTimedOut(`${this.req.method ?? ''} ${this.req.url ?? ''}: the request body stalled for ${seconds} s after the response started; the connection was closed`);
      this.abort();
    } else {
      this.host.clientTimedOut(`${this.req.method ?? ''} ${this.req.url ?? ''}: the request body stalled for ${seconds} s; answered 408`);
      const response = serverResponse(408, `No request body bytes arrived for ${seconds} s.`);
      this.sendWhole(response.head, response.body, response.body.byteLength, true);
    }
    this.events?.onAbort();
  }

  watch(events: ExchangeEvents): void {
    this.events = events;
    const onClose = (): void => {
      if (!this.done) {
        this.markDone();
        this.events?.onAbort();
      }
    };
    this.res.on('close', onClose);
    // A pipelined response still queued behind another has no socket of its own yet, and its
    // 'close' never fires when the client leaves: watch the connection too.
    const socket = this.req.socket;
    if (socket !== null && !socket.destroyed) {
      this.onSocketClose = onClose;
      socket.once('close', onClose);
    }
  }

  sendWhole(head: ResponseHead, body: BodyChunk | null, contentLength: number, close: boolean): void {
    if (this.done) return;
    const res = this.res;
    const wire = wireOf(head);
    res.writeHead(head.statusCode, wire.reason, rawHeaders(head, wire, contentLength, this.closes(close)));
    this.markDone();
    if (body === null) res.end();
    else res.end(body);
  }

  startStream(head: ResponseHead, contentLength: number): void {
    if (this.done) return;
    const wire = wireOf(head);
    this.res.writeHead(head.statusCode, wire.reason, rawHeaders(head, wire, contentLength, this.closes(false)));
    // Node holds the head until the first body write, which follows in the same turn when the
    // app's first body message has bytes. When it was empty (flushHeaders, an SSE stream that
    // waits for its first event) the head must still leave now, as on the other backends.
    this.headOnly = true;
    queueMicrotask(() => {
      if (this.headOnly && !this.done) this.res.flushHeaders();
    });
  }

  writeStream(chunk: BodyChunk): boolean {
    if (this.done) return false;
    this.headOnly = false;
    const ok = this.res.write(chunk);
    if (!ok && !this.drainHooked) {
      // One listener however many writes came back false (legacy write() does not wait).
      this.drainHooked = true;
      this.res.once('drain', () => {
        this.drainHooked = false;
        this.events?.onDrain();
      });
    }
    return ok;
  }

  endStream(trailers?: readonly HeaderPair[] | null): void {
    if (this.done) return;
    this.markDone();
    // Node writes trailers into the last chunk of a chunked body.
    if (trailers !== undefined && trailers !== null && trailers.length > 0) this.res.addTrailers(trailers as Array<[string, string]>);
    this.res.end();
  }

  refuse(head: ResponseHead, body: Uint8Array): void {
    // llhttp refuses ambiguous framing before tsgi sees it; if one gets through, answer and close.
    this.sendWhole(head, body, body.byteLength, true);
  }

  abort(): void {
    if (this.done) return;
    this.markDone();
    const socket = this.res.socket;
    if (socket === null || socket.destroyed) {
      this.res.destroy();
      return;
    }
    // Flush what was written, then FIN: the client sees a response that stops short. A client
    // that stops reading does not get to hold the socket open.
    socket.end();
    const timer = setTimeout(() => socket.destroy(), ABORT_FLUSH_MS).unref();
    socket.once('close', () => clearTimeout(timer));
  }

  get isDone(): boolean {
    return this.done;
  }

  /** Whether this response ends the connection; if so, nothing pipelined after it is served. */
  private closes(asked: boolean): boolean {
    const budget = this.host.options.maxRequestsPerConnection;
    const spent = budget > 0 && ++this.pipeline.answered >= budget;
    const close = asked || spent || this.host.closing || !this.res.shouldKeepAlive;
    if (close) this.pipeline.close();
    return close;
  }

  private markDone(): void {
    if (this.done) return;
    this.done = true;
    this.disarmStall();
    this.host.exchangeEnded();
    this.pipeline.done();
    const wasReading = this.receiver !== null;
    this.receiver = null;
    if (this.onSocketClose !== null) {
      this.req.socket?.removeListener('close', this.onSocketClose);
      this.onSocketClose = null;
    }
    // Unread body bytes must be consumed for the connection to carry the next request.
    if (wasReading || this.req.isPaused()) this.req.resume();
  }
}
