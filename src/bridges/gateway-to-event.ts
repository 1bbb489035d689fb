/**
 * `gatewayToEvent(app)`: a gateway app `(environ, startResponse)` served where an event app
 * `(scope, receive, send)` is expected — inside an event app's `mount`, or on any host of the
 * event interface (asgiref's WsgiToAsgi is the model). The gateway contract's rules (§1, §5, §6)
 * hold behind the bridge: `startResponse` validates at once, nothing is sent before the first
 * non-empty chunk, an array body goes out whole with a Content-Length, a streamed body is pulled
 * one chunk per `send()` (so the host's backpressure reaches the app), and `close()` runs once.
 */
import { buildResponseHead } from '../core/response-head.js';
import { headerOf } from '../event/headers.js';
import { inputModeOf } from '../core/gateway.js';
import { DEFAULT_MAX_BODY_SIZE } from '../spec/constants.js';
import type { EventApp, HttpScope, Receive, Send } from '../spec/event-types.js';
import type { BodyChunk, ErrorStream, GatewayApp, HeaderPair, StartResponse, WriteFunction } from '../spec/types.js';
import { environFromScope, STDERR_ERRORS } from './environ-from-scope.js';
import { httpOnlyEventApp } from './http-only.js';
import { BodyTooLarge, ReceiveInput } from './receive-input.js';

export interface GatewayToEventOptions {
  /** Largest request body read for a buffered gateway app (413 beyond); default 1 MiB. */
  maxBodySize?: number;
  /** Where `tsgi.errors` writes go; default the process's stderr. */
  errors?: ErrorStream;
}

const EMPTY = new Uint8Array(0);
/** Marks the apps this module made, so `mount` can tell a bridged gateway app from a native one. */
export const BRIDGED_GATEWAY: unique symbol = Symbol('tsgi.bridgedGateway');

export function gatewayToEvent(app: GatewayApp, options: GatewayToEventOptions = {}): EventApp {
  if (typeof app !== 'function') throw new TypeError(`gatewayToEvent() needs a gateway app (a function); got ${typeof app}`);
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (!Number.isFinite(maxBodySize) || maxBodySize < 0) {
    throw new RangeError(`gatewayToEvent() maxBodySize must be a non-negative number of bytes; got ${maxBodySize}`);
  }
  const errors = options.errors ?? STDERR_ERRORS;
  const mode = inputModeOf(app);

  const bridged = httpOnlyEventApp((scope, receive, send) =>
    serveHttp(app, scope, receive, send, mode === 'buffered', maxBodySize, errors),
  );
  Object.defineProperty(bridged, BRIDGED_GATEWAY, { value: app });
  return bridged;
}

async function serveHttp(
  app: GatewayApp,
  scope: HttpScope,
  receive: Receive,
  send: Send,
  buffered: boolean,
  maxBodySize: number,
  errors: ErrorStream,
): Promise<void> {
  const body = new ReceiveInput(receive, buffered ? 'buffered' : 'stream', maxBodySize);
  if (buffered) {
    const declared = headerOf(scope.headers, 'content-length');
    if (declared !== undefined && Number(declared) > maxBodySize) return tooLarge(send);
    try {
      await body.readAll();
    } catch (error) {
      if (error instanceof BodyTooLarge) return tooLarge(send);
      throw error;
    }
  } else {
    body.start();
  }
  const environ = environFromScope(scope, body.input, errors);
  const response = new BridgedResponse(send, environ.REQUEST_METHOD === 'HEAD');
  const result = await app(environ, response.startResponse);
  await response.sendBody(result);
}

async function tooLarge(send: Send): Promise<void> {
  await send({ type: 'http.response.start', status: 413, headers: [['content-type', 'text/plain; charset=utf-8']] });
  await send({ type: 'http.response.body', body: 'Request body too large\n' });
}

function chunkOf(chunk: unknown): Uint8Array {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return chunk;
  throw new TypeError(
    `a gateway app's body chunks must be strings or Uint8Arrays; got ${chunk === null ? 'null' : typeof chunk} ` +
      `(docs/spec.md §1)`,
  );
}

/** One response: the startResponse state machine of docs/spec.md §5 over event messages. */
class BridgedResponse {
  private status = '';
  private headers: readonly HeaderPair[] = [];
  private started = false;
  private headSent = false;
  /** Chunks from the legacy write(), sent in order before the body. */
  private writes: Promise<void> = Promise.resolve();
  private writeFailure: unknown = null;

  constructor(
    private readonly send: Send,
    private readonly isHead: boolean,
  ) {}

  readonly startResponse: StartResponse = (status, headers, excInfo) => {
    if (excInfo !== undefined && excInfo !== null) {
      if (this.headSent) throw excInfo;
    } else if (this.started) {
      throw new Error('startResponse() was called twice without excInfo (docs/spec.md §5)');
    }
    buildResponseHead(status, headers); // validates at once, naming the bad value
    this.status = status;
    this.headers = headers;
    this.started = true;
    return this.write;
  };

  private readonly write: WriteFunction = (chunk) => {
    const bytes = chunkOf(chunk);
    if (bytes.byteLength === 0) return;
    this.writes = this.writes.then(() => this.sendChunk(bytes, true)).catch((error: unknown) => {
      this.writeFailure ??= error;
    });
  };

  async sendBody(result: unknown): Promise<void> {
    if (typeof result === 'string' || result === null || typeof result !== 'object') {
      throw new TypeError(
        `a gateway app must return an iterable of chunks (e.g. ['text']); got ${result === null ? 'null' : typeof result} (docs/spec.md §1)`,
      );
    }
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      const method = (result as { close?: unknown }).close;
      if (typeof method === 'function') await method.call(result);
    };
    try {
      await this.drainWrites();
      if (Array.isArray(result) && this.started && !this.headSent) {
        const parts = result.map(chunkOf);
        await this.sendHead();
        await this.send({ type: 'http.response.body', body: parts.length === 1 ? parts[0]! : Buffer.concat(parts), more_body: false });
        return;
      }
      const iterable = result as AsyncIterable<BodyChunk> | Iterable<BodyChunk>;
      const stopEarly = (): boolean => this.isHead || this.statusCode() === 204 || this.statusCode() === 304;
      if (Symbol.asyncIterator in iterable) {
        for await (const chunk of iterable) {
          if (await this.sendStreamed(chunk, stopEarly)) break;
        }
      } else {
        for (const chunk of iterable) {
          if (await this.sendStreamed(chunk, stopEarly)) break;
        }
      }
      await this.drainWrites();
      if (!this.started) throw new Error('the gateway app returned its body without calling startResponse() (docs/spec.md §5)');
      if (!this.headSent) await this.sendHead();
      await this.send({ type: 'http.response.body', body: EMPTY, more_body: false });
    } finally {
      await close();
    }
  }

  /** Sends one streamed chunk; true when the response needs no more (HEAD, 204, 304). */
  private async sendStreamed(chunk: unknown, stopEarly: () => boolean): Promise<boolean> {
    const bytes = chunkOf(chunk);
    await this.drainWrites();
    if (!this.started) throw new Error('the gateway app produced a body chunk before calling startResponse() (docs/spec.md §5)');
    if (stopEarly()) return true;
    if (bytes.byteLength > 0) await this.sendChunk(bytes, true);
    return false;
  }

  private async drainWrites(): Promise<void> {
    await this.writes;
    if (this.writeFailure !== null) throw this.writeFailure;
  }

  private statusCode(): number {
    return Number(this.status.slice(0, 3));
  }

  private async sendHead(): Promise<void> {
    this.headSent = true;
    await this.send({ type: 'http.response.start', status: this.statusCode(), headers: this.headers });
  }

  private async sendChunk(bytes: Uint8Array, more: boolean): Promise<void> {
    if (!this.started) throw new Error('write() was called before startResponse() (docs/spec.md §5)');
    if (!this.headSent) await this.sendHead();
    await this.send({ type: 'http.response.body', body: bytes, more_body: more });
  }
}
