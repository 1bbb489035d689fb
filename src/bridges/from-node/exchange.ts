/**
 * One request through a Node request listener: `req` and `res` built from the scope, the body
 * pulled from `receive()` as `req` is read (backpressure), the response handed to `send()` as
 * `res` writes it, and the connection's fate told to both sides the way node:http tells it
 * ('aborted' and 'close' when the client leaves; 'finish' then 'close' when the response is out).
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpScope, Receive, ReceiveMessage, Send, SendMessage } from '../../spec/event-types.js';
import { immediateSenderOf, type ImmediateSender } from '../../event/http.js';
import { DisconnectedError } from '../../event/runtime.js';
import { hasRequestBody, incomingFromScope } from './request.js';
import { bridgedResponse, parseFields, type ResponseHead } from './response.js';
import { BridgeSocket, type SocketSink } from './socket.js';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => unknown;

type Done = (error?: Error | null) => void;

/** What `_read` and `_dump` use on IncomingMessage (node:http's own bookkeeping). */
interface IncomingInternals {
  _consuming: boolean;
  _readableState: { readingMore: boolean; resumeScheduled: boolean };
  _dump(): void;
  _read(size: number): void;
}

/** node:http clears this flag on the response when the socket drains; so do we. */
const NEED_DRAIN = needDrainSymbol();

export class NodeExchange implements SocketSink {
  private readonly socket: BridgeSocket;
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;
  private head: ResponseHead | null = null;
  private started = false;
  /** The server can send trailers on this connection (HTTP/1.1 on a backend that has them). */
  private readonly trailersAllowed: boolean;
  /** The response was started with `trailers: true`: the trailers message is due after the body. */
  private trailersDue = false;
  /** A body chunk waiting for the end of this turn, to learn whether it is the last. */
  private heldChunk: Buffer | null = null;
  private heldDone: Done | null = null;
  private flushQueued = false;
  private lastBodySent = false;
  /** The last body message has been sent: the exchange is over as far as the client goes. */
  private complete = false;
  private resFinished = false;
  private clientGone = false;
  private failed = false;
  private bodyDone: boolean;
  private pulling = false;
  private settled = false;
  /** The listener returned a promise that has not settled yet. */
  private listenerRunning = false;
  /** The listener's own call is on the stack: what it does after end() may still go wrong. */
  private inListener = false;
  /**
   * The server's send without a promise per message, when the bridge is served directly (not
   * through middleware that wraps `send`): a whole response then goes out during `res.end()`.
   */
  private readonly immediate: ImmediateSender | null;
  /** An error the app caused after ending its response, reported once the response is out. */
  private lateError: unknown = null;
  private resolveRun!: () => void;
  private rejectRun!: (error: unknown) => void;

  constructor(
    private readonly listener: NodeListener,
    scope: HttpScope,
    private readonly receive: Receive,
    private readonly send: Send,
  ) {
    const client = scope.client;
    const server = scope.server;
    this.socket = new BridgeSocket(this, {
      remoteAddress: client?.[0],
      remotePort: client === null ? undefined : client[1],
      localAddress: server?.[0],
      localPort: server?.[1] ?? undefined,
      encrypted: scope.scheme === 'https',
    });
    const req = incomingFromScope(scope, this.socket);
    this.req = req;
    this.res = bridgedResponse(req, this.socket, this);
    this.trailersAllowed = 'http.response.trailers' in scope.extensions;
    this.immediate = immediateSenderOf(send);
    this.bodyDone = !hasRequestBody(scope);
    if (this.bodyDone) {
      // As node:http does for a request without a body: complete at once, ends when read.
      req.complete = true;
      req.push(null);
    }
    // An own property: Express and Koa swap req's prototype, and this must survive it.
    (req as unknown as Linked)[EXCHANGE] = this;
    (req as unknown as IncomingInternals)._read = readRequestBody;
    this.wireEvents();
  }

  run(): Promise<void> {
    const running = new Promise<void>((resolve, reject) => {
      this.resolveRun = resolve;
      this.rejectRun = reject;
    });
    this.inListener = true;
    try {
      const result = this.listener(this.req, this.res);
      if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
        // An async listener (Koa's callback is one) may still fail after its response is out:
        // the call lasts until it settles, so that error reaches the server's log too.
        this.listenerRunning = true;
        (result as Promise<unknown>).then(
          () => this.listenerSettled(),
          (error: unknown) => {
            this.appFailed(error);
            this.listenerSettled();
          },
        );
      }
    } catch (error) {
      this.appFailed(error);
    }
    this.inListener = false;
    if (this.complete) {
      // Settled a tick later: a misuse right after end() (a write after end) is reported by Node
      // on the next tick, and still reaches the server's log with the response.
      if (!this.listenerRunning) process.nextTick(settleExchange, this);
    } else if (this.bodyDone && !this.clientGone && !this.failed) {
      // Only a response still to come needs to hear that the client left.
      this.watchDisconnect();
    }
    return running;
  }

  private wireEvents(): void {
    const { socket, res } = this;
    // The handlers are shared functions that find the exchange through EXCHANGE: a request
    // allocates no closures for them (they are most of what a hello costs beyond Express).
    (res as unknown as Linked)[EXCHANGE] = this;
    (socket as unknown as Linked)[EXCHANGE] = this;
    // Own properties, which survive the prototype swap: the last bytes are known at _finish
    // (Node's 'prefinish'), and the socket's timeout comes straight to the exchange.
    (res as unknown as ResponseInternals)._finish = finishResponse;
    res.on('finish', onResponseFinish);
    // Without a listener these would be thrown from the event loop and end the process; a
    // misbehaving app gets its error logged and the request ended instead.
    res.on('error', onResponseError);
    socket.on('error', ignoreSocketError);
    socket.on('drain', onSocketDrain);
  }

  /**
   * Node has written a response's last bytes (its `_finish`, just before 'prefinish'): nothing
   * more comes. If the socket holds nothing but the chunk kept for this turn, that is the whole
   * rest of the body and goes now, as the last; otherwise the socket is ended and its final()
   * sends the end once the queued writes are through.
   */
  onPrefinish(): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (this.head === null || this.clientGone || this.failed || this.lastBodySent) {
      // Nothing to send (only an interim head was written, or the exchange is over): the
      // stream's end settles what it holds.
      socket.end();
      return;
    }
    const chunk = this.heldChunk;
    if (chunk !== null && socket.writableLength === chunk.byteLength) {
      const done = this.heldDone!;
      this.heldChunk = null;
      this.heldDone = null;
      // The write completes on the next tick, as a socket write would: 'finish' never comes
      // from inside res.end().
      this.deliver(chunk, false, deferredDone(done));
      return;
    }
    if (chunk === null && socket.writableLength === 0) {
      this.deliver(EMPTY, false, noop);
      return;
    }
    socket.end();
  }

  onResponseFinish(): void {
    this.resFinished = true;
    this.closeIfDone();
  }

  onDrain(): void {
    const res = this.res;
    if (NEED_DRAIN !== null) (res as unknown as Record<symbol, boolean>)[NEED_DRAIN] = false;
    if (!res.writableFinished) res.emit('drain');
  }

  /** As node:http: the request and the response hear it; unheard, the connection is dropped. */
  onTimeout(): void {
    const { socket, req, res } = this;
    const heardByRequest = !req.complete && req.emit('timeout', socket);
    const heardByResponse = res.emit('timeout', socket);
    if (!heardByRequest && !heardByResponse) socket.destroy(new Error('the socket timeout set by the Node listener expired'));
  }

  // --- the request body -------------------------------------------------------------------------

  pullBody(): void {
    const req = this.req as unknown as IncomingInternals;
    if (!req._consuming) {
      req._consuming = true;
      req._readableState.readingMore = false;
    }
    if (this.bodyDone || this.pulling) return;
    this.pulling = true;
    this.receive().then(
      (message) => this.onBodyMessage(message),
      (error: unknown) => this.fail(error),
    );
  }

  private onBodyMessage(message: ReceiveMessage): void {
    this.pulling = false;
    // As on a net.Socket, bytes read count as activity for setTimeout.
    this.socket.activity();
    const req = this.req;
    if (message.type === 'http.request') {
      const last = !message.more_body;
      if (last) {
        this.bodyDone = true;
        req.complete = true;
      }
      const body = message.body;
      if (body.byteLength > 0) req.push(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      if (last) {
        req.push(null);
        this.watchDisconnect();
      } else if (body.byteLength === 0) {
        // Nothing was pushed, so the stream will not ask again: ask for it.
        this.pullBody();
      }
      return;
    }
    this.bodyDone = true;
    // After the response the rest of the body is discarded by the server: the stream just ends.
    if (this.complete) req.push(null);
    else this.clientLeft();
  }

  /** After the body, receive() answers http.disconnect when the client leaves (or all is done). */
  private watchDisconnect(): void {
    this.receive().then(
      (message) => {
        if (message.type === 'http.request') this.watchDisconnect();
        // The server also answers http.disconnect once the response is out: the last body
        // message may still be settling its promise then.
        else if (!this.lastBodySent) this.clientLeft();
      },
      (error: unknown) => this.fail(error),
    );
  }

  // --- the response -----------------------------------------------------------------------------

  onHead(head: ResponseHead): void {
    // 1xx heads (writeHead(103)) have no counterpart in the event contract; the final one counts.
    if (head.status >= 200) this.head = head;
  }

  write(chunk: Buffer, done: Done): void {
    // Bytes before the final head are interim responses Node writes raw (writeContinue,
    // writeEarlyHints): tsgi answers Expect: 100-continue itself, and has no 103. After the last
    // body message only the empty write res.end() queues behind a pending write can come (for
    // `res.write(data); res.end()` in one turn, the data already went as the last): nothing to send.
    if (this.head === null || this.clientGone || this.failed || this.lastBodySent) {
      done();
      return;
    }
    this.heldChunk = chunk;
    this.heldDone = done;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueFlush(this);
    }
  }

  /**
   * At the end of the turn the chunk is sent. If `res.end()` came in the same turn and nothing
   * else is queued, it is the last, and goes as the whole body (one write, Content-Length known).
   */
  flushHeld(): void {
    this.flushQueued = false;
    const chunk = this.heldChunk;
    if (chunk === null) return;
    const done = this.heldDone!;
    this.heldChunk = null;
    this.heldDone = null;
    const socket = this.socket;
    const last = socket.writableEnded && socket.writableLength === chunk.byteLength;
    this.deliver(chunk, !last, done);
  }

  final(done: Done): void {
    if (this.lastBodySent || this.head === null || this.clientGone || this.failed) {
      done();
      return;
    }
    this.deliver(EMPTY, false, done);
  }

  /**
   * Sends a body chunk (the head first, trailers after the last) and calls `done` once the server
   * has taken it: at once, or after a drain when the socket is full (backpressure).
   */
  private deliver(chunk: Buffer, more: boolean, done: Done): void {
    if (!more) this.lastBodySent = true;
    this.deliverFrom(Step.Start, chunk, more, done);
  }

  /** Sends the steps from `step` on; where one must wait, the rest follows when it is done. */
  private deliverFrom(step: Step, chunk: Buffer, more: boolean, done: Done): void {
    try {
      for (; step <= Step.Trailers; step++) {
        const message = this.messageFor(step, chunk, more);
        if (message === null) continue;
        const waiting = this.immediate !== null ? this.immediate.sendNow(message) : this.send(message);
        if (waiting !== undefined) {
          const next = step + 1;
          waiting.then(
            () => this.deliverFrom(next, chunk, more, done),
            (error: unknown) => this.deliveryFailed(error, done),
          );
          return;
        }
      }
    } catch (error) {
      this.deliveryFailed(error, done);
      return;
    }
    if (!more) this.lastDelivered();
    done();
  }

  private messageFor(step: Step, chunk: Buffer, more: boolean): SendMessage | null {
    if (step === Step.Start) {
      if (this.started) return null;
      this.started = true;
      const head = this.head!;
      // res.addTrailers() comes just before end(), after the head: a `Trailer` field in the
      // head is how the app says they will come (as HTTP asks), so tsgi keeps the body open.
      this.trailersDue = head.trailers && this.trailersAllowed;
      return { type: 'http.response.start', status: head.status, headers: head.headers, trailers: this.trailersDue };
    }
    if (step === Step.Body) return { type: 'http.response.body', body: chunk, more_body: more };
    if (more || !this.trailersDue) return null;
    // Node keeps what addTrailers() was given serialised, as `Name: value\r\n` lines.
    const trailer = (this.res as unknown as { _trailer: string })._trailer;
    return { type: 'http.response.trailers', headers: parseFields(trailer) };
  }

  private deliveryFailed(error: unknown, done: Done): void {
    // send() refuses once the client has gone, or on a contract error, which is the app's.
    if (error instanceof DisconnectedError) this.clientLeft();
    else this.fail(error);
    done();
  }

  private lastDelivered(): void {
    this.complete = true;
    this.closeIfDone();
    if (!this.listenerRunning && !this.inListener) this.settle();
  }

  /** node:http's end of a response: the unread body is drained, then 'close' on req and res. */
  private closeIfDone(): void {
    if (!this.complete || !this.resFinished) return;
    const req = this.req as unknown as IncomingInternals;
    if (!req._consuming && !req._readableState.resumeScheduled) req._dump();
    // As node:http lets a response go from a connection it keeps: the socket is detached (not
    // closed: to the app it stays what a kept-alive connection is), and 'close' follows on res.
    const res = this.res;
    this.socket.release();
    if (res.socket === (this.socket as unknown)) res.detachSocket(this.socket as never);
    process.nextTick(emitResponseClose, res);
  }

  // --- endings ---------------------------------------------------------------------------------

  /** The client went away before the response was complete. */
  private clientLeft(): void {
    if (this.clientGone || this.complete || this.failed) return;
    this.clientGone = true;
    this.releaseHeld();
    // 'close' on the socket reaches res ('close'); req hears 'aborted' if its body was not all in.
    this.socket.destroy();
    this.req.destroy(abortedError());
    this.settle();
  }

  /** The socket was destroyed; unless by the exchange, the app did it (`res.destroy()`). */
  destroyed(error: Error | null): void {
    if (this.complete || this.clientGone || this.failed) return;
    // After end(), node:http has written the response and a destroy only closes the connection
    // (Express's finalhandler does that for an error raised after res.send()): the client gets
    // the response whole. Here it may still be held for the end of the turn, so it goes now.
    if (this.res.writableEnded && this.head !== null && this.sendRemainder()) return;
    this.fail(error ?? new Error('the Node listener destroyed the response (res.destroy() or req.socket.destroy()) before finishing it'));
  }

  /** Sends what the ended response still holds as its last body; false if some never came. */
  private sendRemainder(): boolean {
    if (this.lastBodySent) return true;
    const chunk = this.heldChunk;
    // Bytes still queued in the stream behind the held chunk are dropped by the destroy.
    if (this.socket.writableLength > (chunk?.byteLength ?? 0)) return false;
    const done = this.heldDone ?? noop;
    this.heldChunk = null;
    this.heldDone = null;
    this.deliver(chunk ?? EMPTY, false, done);
    return true;
  }

  /**
   * The listener threw or rejected, or misused `res` (an 'error' on it). After end() the response
   * is whole: it still goes out and the error is logged with it (node:http would crash the
   * process on most of these, a write after end among them). Before, the app failed.
   */
  appFailed(error: unknown): void {
    if (this.res.writableEnded && !this.failed && !this.clientGone) {
      // Errors after the call settled have no one to tell (the listener's own promise keeps
      // the call open, so only a callback's error after the response can get here).
      if (!this.settled) this.lateError ??= error;
      return;
    }
    this.fail(error);
  }

  /** The app failed: tsgi answers 500 if nothing was sent, or drops the connection, and logs it. */
  private fail(error: unknown): void {
    if (this.failed || this.complete || this.clientGone) return;
    this.failed = true;
    this.releaseHeld();
    if (!this.socket.destroyed) this.socket.destroy();
    if (!this.req.destroyed) this.req.destroy();
    if (this.settled) return;
    this.settled = true;
    this.rejectRun(error);
  }

  private listenerSettled(): void {
    this.listenerRunning = false;
    if (this.complete) this.settle();
  }

  private releaseHeld(): void {
    const done = this.heldDone;
    this.heldChunk = null;
    this.heldDone = null;
    done?.();
  }

  settle(): void {
    if (this.settled) return;
    this.settled = true;
    // The server logs a rejection that comes after a complete response, and sends nothing more.
    if (this.lateError !== null) this.rejectRun(this.lateError);
    else this.resolveRun();
  }
}

const EMPTY = Buffer.alloc(0);

/** The messages one delivery may send, in order. */
const enum Step {
  Start,
  Body,
  Trailers,
}

function noop(): void {}

function deferredDone(done: Done): Done {
  return () => process.nextTick(done);
}

function settleExchange(exchange: NodeExchange): void {
  exchange.settle();
}

/** node:http's 'close' on a response that finished on a connection it keeps. */
function emitResponseClose(res: ServerResponse): void {
  const self = res as unknown as { _closed: boolean; destroyed: boolean };
  if (self._closed) return;
  self.destroyed = true;
  self._closed = true;
  res.emit('close');
}

type ResponseInternals = { _finish(): void };
const nodeFinish = (ServerResponse.prototype as unknown as ResponseInternals)._finish;

/** res._finish: the exchange learns the response is over, then Node emits 'prefinish'. */
function finishResponse(this: ServerResponse & Linked): void {
  this[EXCHANGE].onPrefinish();
  nodeFinish.call(this);
}

function abortedError(): Error {
  return Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
}

/** Node keeps the flag under a private symbol; found on a probe response, once. */
function needDrainSymbol(): symbol | null {
  const probe = new ServerResponse(new IncomingMessage(null as never));
  return Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === 'kNeedDrain') ?? null;
}

/** The exchange a request's `req`, `res` and socket belong to, for the shared handlers below. */
const EXCHANGE = Symbol('tsgi.nodeExchange');
type Linked = { [EXCHANGE]: NodeExchange };

function readRequestBody(this: Linked): void {
  this[EXCHANGE].pullBody();
}
function onResponseFinish(this: Linked): void {
  this[EXCHANGE].onResponseFinish();
}
function onResponseError(this: Linked, error: Error): void {
  this[EXCHANGE].appFailed(error);
}
function ignoreSocketError(): void {
  // Errors on the bridge socket come from destroy(error); the exchange has already acted on them.
}
function onSocketDrain(this: Linked): void {
  this[EXCHANGE].onDrain();
}

/** Exchanges holding a chunk until the end of this turn: one microtask flushes them all. */
let flushQueue: NodeExchange[] = [];
function queueFlush(exchange: NodeExchange): void {
  if (flushQueue.push(exchange) === 1) queueMicrotask(flushAll);
}
function flushAll(): void {
  const queue = flushQueue;
  flushQueue = [];
  for (const exchange of queue) exchange.flushHeld();
}
