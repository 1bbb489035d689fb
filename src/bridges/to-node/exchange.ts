/**
 * One request of a tsgi app under a Node listener: `req` read on demand (the request stream stays
 * paused, so Node stops reading the socket once its small buffer is full), `res` written with its
 * own backpressure ('drain'), and `res` closing before it finished meaning the client left.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpScope, ReceiveMessage } from '../../spec/event-types.js';
import type { HeaderPair } from '../../spec/types.js';
import { DISCONNECT, HostExchange, LAST_EMPTY } from '../host/exchange.js';
import type { HostReport } from '../host/report.js';
import { outgoingHeaders, type CheckedStart } from '../host/response.js';

const SERVER_ERROR = 'Internal Server Error\n';

export class NodeExchange extends HostExchange {
  /** Wakes a readBody() waiting for request bytes (or their end, or the client leaving). */
  private wakeReader: (() => void) | null = null;
  private reading = false;
  /** send() calls waiting for 'drain' (an app that awaits each send() has at most one). */
  private drainWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    scope: HttpScope,
    report: HostReport,
  ) {
    super(scope, report, scope.http_version === '1.0' ? 'HTTP/1.0 responses cannot carry them' : null);
    res.on('drain', this.onDrain);
    res.on('finish', this.onFinish);
    res.on('close', this.onClose);
    // A client that leaves mid-upload makes req emit 'error' (ECONNRESET); res 'close' says so too.
    req.on('error', this.wake);
  }

  // --- the request body -------------------------------------------------------------------------

  private readonly wake = (): void => {
    const wake = this.wakeReader;
    this.wakeReader = null;
    wake?.();
  };

  /** Every byte of the body is in req's buffer (or was read): what read() returns is the rest. */
  private requestComplete(): boolean {
    const req = this.req;
    return req.readableEnded || (req.complete && req.readableLength === 0);
  }

  protected async readBody(): Promise<ReceiveMessage> {
    const req = this.req;
    if (!this.reading) {
      this.reading = true;
      // Paused mode: Node buffers up to the stream's high-water mark, then stops reading the socket.
      req.on('readable', this.wake);
      req.on('end', this.wake);
    }
    for (;;) {
      if (this.clientGone || this.responseOver) return DISCONNECT;
      const chunk: unknown = req.read();
      if (chunk !== null) {
        const body = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Uint8Array);
        return { type: 'http.request', body, more_body: !this.requestComplete() };
      }
      if (this.requestComplete()) return LAST_EMPTY;
      if (req.destroyed) return DISCONNECT;
      await new Promise<void>((resolve) => {
        this.wakeReader = resolve;
      });
    }
  }

  /** After the response: whatever the app left unread is read and dropped, so keep-alive goes on. */
  private discardUnread(): void {
    if (!this.reading || this.requestComplete()) return;
    this.req.removeListener('readable', this.wake);
    this.req.resume();
  }

  // --- the response -----------------------------------------------------------------------------

  private setHead(start: CheckedStart, headLength: number | null): void {
    const res = this.res;
    if (res.headersSent) {
      throw new Error(`${this.scope.method} ${this.scope.raw_path}: the response was already started by something else in front of the tsgi app`);
    }
    applyHeaders(res, outgoingHeaders(start, headLength));
    res.statusCode = start.status;
  }

  protected respond(start: CheckedStart, body: Uint8Array | null, headLength: number | null): void {
    // No writeHead(): it fixes the framing at once, and end(body) alone lets Node send a
    // Content-Length instead of a chunked body.
    this.setHead(start, headLength);
    if (body === null || body.byteLength === 0) this.res.end();
    else this.res.end(body);
  }

  protected openStream(start: CheckedStart): void {
    this.setHead(start, null);
    this.res.writeHead(start.status);
  }

  protected writeStream(bytes: Uint8Array): Promise<void> {
    if (this.res.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.drainWaiters.push({ resolve, reject });
    });
  }

  protected closeStream(last: Uint8Array, trailers: HeaderPair[] | null): void {
    if (trailers !== null && trailers.length > 0) this.res.addTrailers(trailers as [string, string][]);
    if (last.byteLength === 0) this.res.end();
    else this.res.end(last);
  }

  protected answerServerError(): void {
    const res = this.res;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.statusCode = 500;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Content-Length', String(Buffer.byteLength(SERVER_ERROR)));
    res.end(SERVER_ERROR);
  }

  protected abortResponse(): void {
    // Node corks the socket for a tick after a write: hand what the app already sent to the
    // socket before cutting the connection, as the tsgi server does (docs/spec.md §7).
    const socket = this.res.socket;
    if (socket !== null && socket.writableCorked > 0) socket.uncork();
    this.res.destroy();
  }

  // --- res events -------------------------------------------------------------------------------

  private readonly onDrain = (): void => {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  };

  private readonly onFinish = (): void => {
    this.completed();
    this.wake();
    this.discardUnread();
  };

  private readonly onClose = (): void => {
    // 'close' follows 'finish' on every response; before it, the connection went away.
    if (!this.res.writableFinished) this.clientLeft();
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) {
      if (this.clientGone) waiter.reject(this.disconnected('http.response.body'));
      else waiter.resolve();
    }
    this.wake();
  };
}

/**
 * Sets the app's headers on `res` one name at a time: a repeated name (several Set-Cookie) goes
 * out as several lines, and headers set by middleware in front of the app stay unless the app
 * sets the same name.
 */
function applyHeaders(res: ServerResponse, headers: readonly HeaderPair[]): void {
  const byName = new Map<string, { name: string; values: string[] }>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    const entry = byName.get(key);
    if (entry === undefined) byName.set(key, { name, values: [value] });
    else entry.values.push(value);
  }
  for (const { name, values } of byName.values()) res.setHeader(name, values.length === 1 ? values[0]! : values);
}
