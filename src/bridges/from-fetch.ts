/**
 * `fromFetch(handler)`: a fetch handler — `(request) => Response`, the convention of Hono, Bun,
 * Deno and Cloudflare Workers — as an event app, so the server, `mount` and every middleware take
 * it like any other.
 *
 * Each http request becomes a lazy `Request` (from-fetch/request.ts): method, URL and headers are
 * worked out from the scope when read, the body is read from `receive()` as the handler reads it
 * (backpressure), and `signal` aborts when the client goes away. The `Response` is sent with its
 * status and headers (several `Set-Cookie` stay several), a known body in one piece with its
 * length and a stream one chunk per `send()`, cancelled if the client leaves (from-fetch/send.ts).
 * A handler that answers synchronously (Hono does, for a synchronous route) is served without a
 * promise in between.
 */
import { defineEventApp } from '../event/interface.js';
import type { EventApp, HttpScope, Receive, Scope, Send } from '../spec/event-types.js';
import { RequestBodySource } from './from-fetch/body.js';
import { FetchRequest, LAZY_REQUESTS_WORK, standardRequestOf } from './from-fetch/request.js';
import { installFetchResponse } from './from-fetch/response.js';
import { sendResponse } from './from-fetch/send.js';
import { RequestUrlError } from './from-fetch/url.js';
import { httpOnlyEventApp } from './http-only.js';

/** What Cloudflare Workers pass as the third argument; Hono's `c.executionCtx`. */
export interface FetchContext {
  waitUntil(promise: Promise<unknown>): void;
  passThroughOnException(): void;
}

export type FetchFunction = (request: Request, env: Record<string, unknown>, context: FetchContext) => Response | Promise<Response>;
/** A fetch handler: a function, or an object with a `fetch` method (`export default app` from Hono). */
export type FetchHandler = FetchFunction | { fetch: FetchFunction };

export interface FromFetchOptions {
  /** The handler's second argument (Cloudflare's bindings, Hono's `c.env`); default `{}`. */
  env?: Record<string, unknown>;
  /**
   * Put tsgi's FetchResponse in the place of the global `Response` (default true): responses the
   * handler makes with `new Response(...)` then keep their body as given, and a string or bytes
   * body is sent without a stream in between (from-fetch/response.ts). `false` leaves the global alone;
   * responses are then read through their body stream.
   */
  fetchResponse?: boolean;
}

const FETCH_MARK = 'fetch';

/** Marks a plain `(request) => Response` function as a fetch handler (for `--interface auto`). */
export function defineFetchApp<T extends FetchFunction>(handler: T): T {
  if (typeof handler !== 'function') throw new TypeError(`defineFetchApp() needs a function (request) => Response; got ${typeof handler}`);
  Object.defineProperty(handler, 'tsgiInterface', { value: FETCH_MARK, enumerable: true, configurable: true, writable: true });
  return handler;
}

/** A fetch handler by convention: an object with a `fetch` method, or a function marked by defineFetchApp. */
export function isFetchHandler(value: unknown): value is FetchHandler {
  if (value !== null && typeof value === 'object') return typeof (value as { fetch?: unknown }).fetch === 'function';
  return typeof value === 'function' && (value as { tsgiInterface?: unknown }).tsgiInterface === FETCH_MARK;
}

export function fromFetch(handler: FetchHandler, options: FromFetchOptions = {}): EventApp {
  const call: FetchFunction =
    typeof handler === 'function'
      ? handler
      : handler !== null && typeof handler === 'object' && typeof handler.fetch === 'function'
        ? handler.fetch.bind(handler)
        : (() => {
            throw new TypeError('fromFetch() needs a function (request) => Response or an object with a fetch(request) method');
          })();
  const env = options.env ?? {};
  if (options.fetchResponse !== false) installFetchResponse();
  // Websockets are refused and the lifespan answered, as for any HTTP-only app; http requests
  // go straight to serveFetch, which is not async: a synchronous answer is sent before it
  // returns, and its promise is send()'s own.
  const others = httpOnlyEventApp(() => Promise.resolve());
  return defineEventApp((scope: Scope, receive: Receive, send: Send): Promise<void> => {
    if (scope.type !== 'http') return others(scope, receive, send);
    try {
      return serveFetch(call, env, scope, receive, send);
    } catch (error) {
      return Promise.reject(error);
    }
  });
}

/** Cloudflare's execution context: work passed to waitUntil() outlives the response. */
class ExecutionContext implements FetchContext {
  waiting: Promise<unknown>[] | null = null;

  waitUntil(promise: Promise<unknown>): void {
    (this.waiting ??= []).push(Promise.resolve(promise).catch(() => {}));
  }

  passThroughOnException(): void {}
}

/** One request: call the handler, send its response, then wait for any waitUntil() work. */
function serveFetch(call: FetchFunction, env: Record<string, unknown>, scope: HttpScope, receive: Receive, send: Send): Promise<void> {
  const method = scope.method;
  const source = new RequestBodySource(receive, method !== 'GET' && method !== 'HEAD');
  const lazy = new FetchRequest(scope, source);
  const context = new ExecutionContext();
  let result: Response | PromiseLike<Response>;
  try {
    result = call(LAZY_REQUESTS_WORK ? (lazy as unknown as Request) : standardRequestOf(lazy), env, context);
  } catch (error) {
    return refuseBadUrl(error, send, source);
  }
  const isHead = method === 'HEAD';
  if (isThenable(result)) {
    const sent = Promise.resolve(result).then(
      (response) => respond(response, send, source, isHead),
      (error: unknown) => refuseBadUrl(error, send, source),
    );
    // waitUntil() may be called at any point of an async handler: look after the response.
    return sent.then(() => (context.waiting === null ? undefined : settle(context)));
  }
  const sent = respond(result, send, source, isHead);
  return context.waiting === null ? sent : sent.then(() => settle(context));
}

function isThenable(value: unknown): value is PromiseLike<Response> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<unknown>).then === 'function';
}

function respond(response: unknown, send: Send, source: RequestBodySource, isHead: boolean): Promise<void> {
  if (!(response instanceof Response)) {
    throw new TypeError(`a fetch handler must return a Response (or a promise of one); got ${response === null ? 'null' : typeof response}`);
  }
  return sendResponse(response, send, source, isHead);
}

/** waitUntil() work outlives the response, as on the platforms that offer it. */
async function settle(context: ExecutionContext): Promise<void> {
  while (context.waiting !== null && context.waiting.length > 0) {
    const batch = context.waiting;
    context.waiting = [];
    await Promise.all(batch);
  }
}

/** A Host no URL can be made of is the client's fault: 400. Anything else is the handler's. */
function refuseBadUrl(error: unknown, send: Send, source: RequestBodySource): Promise<void> {
  if (!(error instanceof RequestUrlError)) throw error;
  source.responded = true;
  void send({ type: 'http.response.start', status: 400, headers: [['content-type', 'text/plain; charset=utf-8']] }).catch(() => {});
  return send({ type: 'http.response.body', body: `${error.message}\n` });
}
