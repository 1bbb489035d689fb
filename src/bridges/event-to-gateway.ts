/**
 * `eventToGateway(app)`: an event app `(scope, receive, send)` served where a gateway app is
 * expected, as an async gateway app that streams its input. `receive()` reads `tsgi.input` as the
 * app asks; each body message the app sends becomes one chunk of the returned async iterable, and
 * its `send()` resolves only when the host pulls that chunk, so backpressure reaches the app. A
 * single body message without `more_body` is returned as an array (sent whole, with a
 * Content-Length). Only http scopes cross: the gateway interface has no websockets or lifespan.
 */
import { STATUS_CODES } from 'node:http';
import type { EventApp, HttpResponseStartMessage, ReceiveMessage, SendMessage } from '../spec/event-types.js';
import type { AnyBody, Environ, GatewayApp, HeaderPair, StartResponse } from '../spec/types.js';
import { responseBodyBytes } from '../event/body.js';
import { toHeaderPairs } from '../event/headers.js';
import { scopeFromEnviron } from './scope-from-environ.js';

const EMPTY = new Uint8Array(0);

class ResponseEnded extends Error {}

export function eventToGateway(app: EventApp): GatewayApp {
  if (typeof app !== 'function') throw new TypeError(`eventToGateway() needs an event app (a function); got ${typeof app}`);
  const bridged = async (environ: Environ, startResponse: StartResponse): Promise<AnyBody> => {
    const exchange = new BridgedExchange(environ);
    return exchange.run(app, startResponse);
  };
  Object.defineProperty(bridged, 'tsgiInput', { value: 'stream', enumerable: true, configurable: true, writable: true });
  return bridged;
}

/** The state of one request crossing the bridge. */
class BridgedExchange {
  private readonly input: AsyncIterator<Uint8Array>;
  private bodyDone = false;
  private start: HttpResponseStartMessage | null = null;
  private startHeaders: HeaderPair[] = [];
  /** Settles when the app sent its first body message (or failed, or returned). */
  private ready!: { resolve(first: { body: Uint8Array; more: boolean }): void; reject(error: unknown): void };
  private readonly firstBody: Promise<{ body: Uint8Array; more: boolean }>;
  /** The chunk waiting for the host to pull it, and the app's send() waiting on that. */
  private pending: { body: Uint8Array; more: boolean; taken(): void; failed(error: unknown): void } | null = null;
  private puller: ((chunk: { body: Uint8Array; more: boolean } | Error) => void) | null = null;
  private ended = false;
  private appError: unknown = null;
  private disconnected: (() => void) | null = null;
  private readonly finished: Promise<void>;

  constructor(private readonly environ: Environ) {
    this.input = environ['tsgi.input'][Symbol.asyncIterator]();
    this.firstBody = new Promise((resolve, reject) => {
      this.ready = { resolve, reject };
    });
    this.finished = new Promise((resolve) => {
      this.disconnected = resolve;
    });
  }

  async run(app: EventApp, startResponse: StartResponse): Promise<AnyBody> {
    const task = app(scopeFromEnviron(this.environ), this.receive, this.send).then(
      () => this.onAppReturned(),
      (error: unknown) => this.onAppFailed(error),
    );
    void task;
    const first = await this.firstBody;
    const start = this.start!;
    startResponse(`${start.status} ${STATUS_CODES[start.status] ?? 'Unknown'}`, this.startHeaders);
    if (!first.more) {
      this.end();
      return [first.body];
    }
    return this.stream(first.body);
  }

  private readonly receive = async (): Promise<ReceiveMessage> => {
    if (!this.bodyDone) {
      try {
        const next = await this.input.next();
        if (!next.done) return { type: 'http.request', body: next.value, more_body: true };
      } catch {
        this.bodyDone = true;
        return { type: 'http.disconnect' };
      }
      this.bodyDone = true;
      return { type: 'http.request', body: EMPTY, more_body: false };
    }
    await this.finished;
    return { type: 'http.disconnect' };
  };

  private readonly send = async (message: SendMessage): Promise<void> => {
    if (this.ended) throw new ResponseEnded('the response is over (the client left or it was complete); nothing more can be sent');
    if (message.type === 'http.response.start') {
      if (this.start !== null) throw new TypeError('http.response.start was sent twice');
      if (!Number.isInteger(message.status) || message.status < 200 || message.status > 599) {
        throw new TypeError(`http.response.start status must be an integer from 200 to 599; got ${JSON.stringify(message.status)}`);
      }
      if (message.trailers === true) {
        throw new TypeError('trailers cannot cross to a gateway host (scope.extensions lists no http.response.trailers)');
      }
      // Names and values may be bytes (ASGI byte strings, read as latin1, §9); String() of a
      // Uint8Array would give its digits. Read now, so a bad list rejects this send().
      this.startHeaders = toHeaderPairs(message.headers, 'http.response.start');
      this.start = message;
      return;
    }
    if (message.type !== 'http.response.body') {
      throw new TypeError(`an event app behind eventToGateway() can send only http.response.* messages; got ${JSON.stringify(message.type)}`);
    }
    if (this.start === null) throw new TypeError('http.response.body was sent before http.response.start');
    if (this.complete) throw new TypeError('http.response.body was sent after the last one (more_body: false)');
    const chunk = { body: responseBodyBytes(message.body), more: message.more_body === true };
    if (!chunk.more) this.complete = true;
    if (!this.responding) {
      this.responding = true;
      this.ready.resolve(chunk);
      return;
    }
    await new Promise<void>((taken, failed) => {
      this.pending = { ...chunk, taken, failed };
      this.offer();
    });
  };

  private responding = false;
  /** The app's last body message (more_body false) was handed over. */
  private complete = false;

  /** Hands the pending chunk to a waiting puller. */
  private offer(): void {
    if (this.pending === null || this.puller === null) return;
    const { body, more, taken } = this.pending;
    const puller = this.puller;
    this.pending = null;
    this.puller = null;
    taken();
    puller({ body, more });
  }

  private async *stream(first: Uint8Array): AsyncGenerator<Uint8Array> {
    try {
      if (first.byteLength > 0) yield first;
      for (;;) {
        const next = await new Promise<{ body: Uint8Array; more: boolean } | Error>((resolve) => {
          this.puller = resolve;
          if (this.appError !== null) resolve(this.failure());
          else this.offer();
        });
        if (next instanceof Error) throw next;
        if (next.body.byteLength > 0) yield next.body;
        if (!next.more) return;
      }
    } finally {
      this.end();
    }
  }

  private failure(): Error {
    const error = this.appError;
    return error instanceof Error ? error : new Error(String(error));
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.puller = null;
    const pending = this.pending;
    this.pending = null;
    pending?.failed(new ResponseEnded('the response is over (the client left); nothing more can be sent'));
    this.disconnected?.();
  }

  private onAppReturned(): void {
    if (!this.responding) {
      this.ready.reject(new Error('the event app returned without sending a response (http.response.start and http.response.body)'));
    } else if (!this.complete && !this.ended) {
      this.appError = new Error('the event app returned before its last http.response.body (more_body: false)');
      this.puller?.(this.failure());
    }
  }

  private onAppFailed(error: unknown): void {
    if (!this.responding) {
      this.ready.reject(error);
      return;
    }
    if (this.ended) return;
    this.appError = error;
    this.puller?.(this.failure());
  }
}
