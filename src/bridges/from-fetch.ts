/**
 * `fromFetch(handler)`: a fetch handler — `(request) => Response`, the convention of Hono, Bun,
 * Deno and Cloudflare Workers — as an event app, so the server, `mount` and every middleware take
 * it like any other. Each http request becomes a standard `Request` whose body is a stream that
 * reads the client as the handler reads it (backpressure), and whose `signal` aborts when the
 * client goes away; the `Response` is sent with its status and headers (several `Set-Cookie` stay
 * several), its body streamed one chunk per `send()`, and cancelled if the client leaves.
 */
import { headerOf } from '../event/headers.js';
import { HOP_BY_HOP_HEADERS } from '../spec/constants.js';
import type { EventApp, HttpScope, Receive, Send } from '../spec/event-types.js';
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
  return httpOnlyEventApp((scope, receive, send) => serveFetch(call, env, scope, receive, send));
}

function requestUrl(scope: HttpScope): string {
  const host = headerOf(scope.headers, 'host') ?? (scope.server === null ? 'localhost' : `${scope.server[0]}${scope.server[1] === null ? '' : `:${scope.server[1]}`}`);
  const path = scope.raw_path === '' ? '/' : scope.raw_path;
  return `${scope.scheme}://${host}${path}${scope.query_string === '' ? '' : `?${scope.query_string}`}`;
}

/** One request: the body stream, the disconnect watch and the response. */
async function serveFetch(call: FetchFunction, env: Record<string, unknown>, scope: HttpScope, receive: Receive, send: Send): Promise<void> {
  const aborter = new AbortController();
  let responded = false;
  // After the body, receive() resolves with http.disconnect when the client leaves (or the
  // response is over): that is when request.signal aborts.
  const watchDisconnect = () => {
    void receive().then((message) => {
      if (message.type === 'http.disconnect' && !responded) aborter.abort(new Error('the client disconnected'));
    });
  };
  const headers = new Headers();
  for (const [name, value] of scope.headers) headers.append(name, value);
  const method = scope.method;
  let body: ReadableStream<Uint8Array> | null = null;
  if (method === 'GET' || method === 'HEAD') {
    // No body to read: take the (empty) request message, then watch for the client leaving.
    await receive();
    watchDisconnect();
  } else {
    let finished = false;
    body = new ReadableStream<Uint8Array>(
      {
        // One receive() per pull: the socket is read as fast as the handler reads the body.
        async pull(controller) {
          if (finished) return;
          const message = await receive();
          if (message.type !== 'http.request') {
            finished = true;
            aborter.abort(new Error('the client disconnected'));
            controller.error(new Error('the client disconnected before the request body was complete'));
            return;
          }
          if (message.body.byteLength > 0) controller.enqueue(message.body);
          if (!message.more_body) {
            finished = true;
            controller.close();
            watchDisconnect();
          }
        },
      },
      { highWaterMark: 0 },
    );
  }
  const request = new Request(requestUrl(scope), {
    method,
    headers,
    body,
    signal: aborter.signal,
    // A streamed request body must say so (the Fetch standard's half duplex).
    duplex: 'half',
  } as RequestInit);
  const waiting: Promise<unknown>[] = [];
  const context: FetchContext = {
    waitUntil: (promise) => void waiting.push(Promise.resolve(promise).catch(() => {})),
    passThroughOnException: () => {},
  };
  const response = await call(request, env, context);
  if (!(response instanceof Response)) {
    throw new TypeError(`a fetch handler must return a Response (or a promise of one); got ${response === null ? 'null' : typeof response}`);
  }
  try {
    await sendResponse(response, send, method === 'HEAD');
  } finally {
    responded = true;
    // waitUntil work outlives the response, as on the platforms that offer it.
    await Promise.all(waiting);
  }
}

const NOT_YET = Symbol('not yet');
/** Resolves after the current turn's microtasks: a chunk already queued arrives before it. */
function nextTurn(): Promise<typeof NOT_YET> {
  return new Promise((resolve) => setImmediate(() => resolve(NOT_YET)));
}

function responseHeaders(response: Response): [string, string][] {
  const out: [string, string][] = [];
  response.headers.forEach((value, name) => {
    // Set-Cookie is listed one by one below; the server owns framing and the connection.
    if (name !== 'set-cookie' && !HOP_BY_HOP_HEADERS.has(name)) out.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) out.push(['set-cookie', cookie]);
  return out;
}

async function sendResponse(response: Response, send: Send, isHead: boolean): Promise<void> {
  await send({ type: 'http.response.start', status: response.status, headers: responseHeaders(response) });
  const stream = response.body;
  if (stream === null || isHead) {
    await stream?.cancel().catch(() => {});
    await send({ type: 'http.response.body' });
    return;
  }
  const reader = stream.getReader();
  try {
    let current = await reader.read();
    if (current.done) {
      await send({ type: 'http.response.body' });
      return;
    }
    for (;;) {
      const pending = reader.read();
      // A body whose end is already known (a string, bytes, a Blob) goes out whole, with a
      // Content-Length; a stream whose next chunk is not there yet does not hold this one back.
      const ready = await Promise.race([pending, nextTurn()]);
      if (ready === NOT_YET) {
        await send({ type: 'http.response.body', body: current.value, more_body: true });
        const next = await pending;
        if (next.done) {
          await send({ type: 'http.response.body' });
          return;
        }
        current = next;
        continue;
      }
      const next = ready as Awaited<typeof pending>;
      await send({ type: 'http.response.body', body: current.value, more_body: !next.done });
      if (next.done) return;
      current = next;
    }
  } catch (error) {
    // The client left (send rejected) or the body failed: stop the stream's producer.
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    reader.releaseLock();
  }
}
