/**
 * What every acceptor shares, whatever parses its bytes (gunicorn's Worker base class is the
 * model): handing the core one request or upgrade at a time behind a guard against tsgi's own
 * bugs, counting the exchanges in flight, and the graceful close.
 *
 * An exchange is in flight from `dispatchRequest`/`dispatchUpgrade` until the backend calls
 * `exchangeEnded` for it, exactly once: when its response ended or its connection went away, and
 * for a websocket when the upgrade was refused or the open connection closed.
 */
import { serverResponse } from '../core/server-responses.js';
import type { RequestHead, Transport } from '../core/transport.js';
import type { WebSocketUpgrade } from '../core/websocket-transport.js';
import type { BoundTarget } from './listen.js';
import type { Server, Socket } from 'node:net';
import type { Acceptor, AcceptorLog, AcceptorOptions, ConnectionCounter, Handlers } from './types.js';

const NO_BODY = new Uint8Array(0);
/** What a 503 past --limit-concurrency tells the client to wait, in seconds. */
const RETRY_AFTER_SECONDS = 1;

/** Resolves once `arm`'s waker is called, or after `ms` at the latest. */
export function waitAtMost(ms: number, arm: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    arm(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Tells `counter` of every connection `server` accepts, and of its close (raw TCP sockets, before TLS or a PROXY header). */
export function countConnections(server: Server, counter: ConnectionCounter | null): void {
  if (counter === null) return;
  const closed = (): void => counter.closed();
  server.on('connection', (socket: Socket) => {
    counter.opened();
    socket.once('close', closed);
  });
}

/** `METHOD target HTTP/1.1`, without its CRLF (an absolute-form target counts its path only). */
export function requestLineLength(head: RequestHead): number {
  const target = head.query === '' ? head.rawPath.length : head.rawPath.length + 1 + head.query.length;
  return head.method.length + 1 + target + 9;
}

export abstract class AcceptorBase implements Acceptor {
  /** Shutting down: responses close their connection, new websockets are told to go away. */
  closing = false;
  private handlers: Handlers | null = null;
  private inFlight = 0;
  private whenIdle: (() => void) | null = null;
  private accepting = true;
  /** The answer past --limit-concurrency: 503, try again in a second. */
  private readonly overload = serverResponse(
    503,
    'The server is at its limit of requests in flight; try again shortly.',
    [['Retry-After', String(RETRY_AFTER_SECONDS)]],
  );
  /** Refused since the last log line about it, and when that line was written. */
  private overloadRefused = 0;
  private overloadLoggedAt = 0;

  constructor(
    readonly options: AcceptorOptions,
    protected readonly log: AcceptorLog,
  ) {}

  listen(handlers: Handlers, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]> {
    this.handlers = handlers;
    return this.bind(handlers.upgrade !== null, onListening);
  }

  /**
   * Starts listening on every one of `options.listeners`; with `webSockets`, upgrade requests go
   * to `dispatchUpgrade`. Calls `onListening(bound)` before the first request can arrive.
   */
  protected abstract bind(webSockets: boolean, onListening: (bound: readonly BoundTarget[]) => void): Promise<readonly BoundTarget[]>;

  /**
   * Hands one request to the core, or answers 414 when its request line is over the limit. A
   * throw in the core is a tsgi bug: logged, the exchange aborted.
   */
  protected dispatchRequest(head: RequestHead, transport: Transport): void {
    this.inFlight++;
    this.options.observer?.started(head.method, head.rawPath);
    if (this.overloaded()) {
      const response = this.overload;
      transport.sendWhole(response.head, response.body, response.body.byteLength, true);
      return;
    }
    if (requestLineLength(head) > this.options.limitRequestLine) {
      const response = serverResponse(414, `The request line is longer than this server accepts (${this.options.limitRequestLine} bytes).`);
      this.log.info(`${head.method} ${head.rawPath.slice(0, 64)}…: refused: the request line is over ${this.options.limitRequestLine} bytes`);
      transport.sendWhole(response.head, response.body, response.body.byteLength, true);
      return;
    }
    try {
      this.handlers!.request.dispatch(head, transport);
    } catch (error) {
      this.log.internalError(`internal error while dispatching a request: ${(error as Error).stack ?? String(error)}`);
      transport.abort();
    }
  }

  /** Hands one websocket upgrade request to the core; a tsgi bug there is answered 500. */
  protected dispatchUpgrade(head: RequestHead, upgrade: WebSocketUpgrade): void {
    this.inFlight++;
    this.options.observer?.started(head.method, head.rawPath);
    if (this.overloaded()) {
      const response = this.overload;
      upgrade.reject(response.head.status, response.head.headers, response.body);
      return;
    }
    try {
      this.handlers!.upgrade!.upgrade(head, upgrade);
    } catch (error) {
      this.log.internalError(`internal error while handling a websocket upgrade: ${(error as Error).stack ?? String(error)}`);
      upgrade.reject('500 Internal Server Error', [], NO_BODY);
    }
  }

  /**
   * Whether the exchange just counted goes past --limit-concurrency. Refusals are logged once a
   * second at most, with their count: an overloaded server must not also flood its log.
   */
  private overloaded(): boolean {
    const limit = this.options.limitConcurrency;
    if (limit === 0 || this.inFlight <= limit) return false;
    this.overloadRefused++;
    const now = Date.now();
    if (now - this.overloadLoggedAt >= 1000) {
      this.log.warning(`${this.overloadRefused} request${this.overloadRefused === 1 ? '' : 's'} answered 503: ${limit} in flight (--limit-concurrency)`);
      this.overloadRefused = 0;
      this.overloadLoggedAt = now;
    }
    return true;
  }

  exchangeEnded(): void {
    this.inFlight--;
    this.options.observer?.ended();
    if (this.inFlight === 0) this.whenIdle?.();
  }

  internalError(message: string): void {
    this.log.internalError(message);
  }

  clientTimedOut(message: string): void {
    this.log.info(message);
  }

  /**
   * Stops accepting, closes idle connections and sends open websockets a 1001 close, waits for
   * the exchanges in flight for up to `graceMs`, then cuts every connection that is left.
   *
   * With `lingerMs`, idle keep-alive connections stay open that long first, while every response
   * says `Connection: close`: a client that is about to reuse one gets an answer and a clean close
   * instead of a reset in mid-request (the race every keep-alive server has when it closes an
   * idle connection), and so does one accepted just before the listener closed. The tsgi command
   * and its workers drain this way whenever they stop gracefully (serve.ts DRAIN_LINGER_MS).
   */
  async close(graceMs: number, lingerMs = 0): Promise<void> {
    const deadline = Date.now() + graceMs;
    this.closing = true;
    this.stopAccepting();
    if (lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(lingerMs, graceMs)));
    this.closeIdle();
    if (this.inFlight > 0) {
      await waitAtMost(graceMs, (wake) => (this.whenIdle = wake));
      this.whenIdle = null;
    }
    await this.closeAll(deadline);
  }

  /**
   * Closes the listening socket and nothing else: connections already accepted go on being
   * served. A supervisor stops every old worker accepting before any of them drains, so a client
   * that reconnects never lands in the accept queue of a socket about to close.
   */
  stopAccepting(): void {
    if (!this.accepting) return;
    this.accepting = false;
    this.closeListener();
  }

  /** Closes the listening socket (called once). */
  protected abstract closeListener(): void;
  /** Closes keep-alive connections between requests, and starts closing every open websocket (1001). */
  protected abstract closeIdle(): void;
  /**
   * Nothing is in flight any more (or the grace period is over): lets connections flush what
   * was written until `deadline` (a `Date.now()` time), cuts whatever is left, and resolves once
   * every connection is gone.
   */
  protected abstract closeAll(deadline: number): Promise<void>;
}
