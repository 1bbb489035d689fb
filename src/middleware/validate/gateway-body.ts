/**
 * The body a gateway app returns, as the validator hands it to the server (docs/spec.md §1): the
 * same kind of object (an array stays an array and keeps its fast path, a sync iterable stays
 * sync, an async one async), pulled one chunk from the app per chunk the server pulls, each chunk
 * checked on its way. `close()` is passed on and checked from the server's side: called at most
 * once, and no chunk pulled after it.
 */
import { isAsyncIterable, isSyncIterable } from '../shared/body.js';
import type { GatewayResponse } from './gateway-response.js';
import { show, type Report } from './violation.js';

/** Whether the server called the body's `close()`. */
interface Lifecycle {
  closed: boolean;
}

export function wrapBody(body: unknown, response: GatewayResponse, report: Report): unknown {
  if (typeof body === 'string' || body instanceof Uint8Array || (!isAsyncIterable(body) && !isSyncIterable(body))) {
    throw report(
      'app.return',
      '§1',
      'app',
      `the app returned ${show(body)} instead of an iterable of chunks`,
      'return an array of chunks such as [body], an iterable or async iterable of string or Uint8Array chunks, or a promise of one',
    );
  }
  const lifecycle: Lifecycle = { closed: false };
  const close = closeOf(body, lifecycle, report);
  // The server prefers async iteration when a body offers both; so does the validator.
  if (isAsyncIterable(body)) {
    const wrapped: Record<PropertyKey, unknown> = {
      [Symbol.asyncIterator]: () => asyncChunks(body[Symbol.asyncIterator](), response, lifecycle, report),
    };
    if (close !== undefined) wrapped.close = close;
    return wrapped;
  }
  if (Array.isArray(body) && response.acceptsWhole(body)) {
    if (close === undefined) return body;
    // A copy that is still an array (the one-burst fast path) with the checked close().
    return Object.assign([...(body as unknown[])], { close });
  }
  const wrapped: Record<PropertyKey, unknown> = {
    [Symbol.iterator]: () => syncChunks((body as Iterable<unknown>)[Symbol.iterator](), response, lifecycle, report),
  };
  if (close !== undefined) wrapped.close = close;
  return wrapped;
}

function closeOf(body: object, lifecycle: Lifecycle, report: Report): (() => unknown) | undefined {
  const close = (body as { close?: unknown }).close;
  if (typeof close !== 'function') return undefined;
  return () => {
    if (lifecycle.closed) {
      throw report(
        'body.close',
        '§1',
        'server',
        "the server called the body's close() a second time",
        'call close() exactly once, when the response is over',
      );
    }
    lifecycle.closed = true;
    return close.call(body);
  };
}

function readAfterClose(report: Report) {
  return report(
    'body.read-after-close',
    '§1',
    'server',
    "the server pulled a chunk from the body after calling its close()",
    'stop iterating before calling close()',
  );
}

function syncChunks(inner: Iterator<unknown>, response: GatewayResponse, lifecycle: Lifecycle, report: Report): Iterator<unknown> {
  return {
    next(...args: [] | [unknown]) {
      if (lifecycle.closed) throw readAfterClose(report);
      // The app may call startResponse() in here, during the first iteration (§5).
      const step = inner.next(...args);
      if (step.done === true) response.end();
      else response.chunk(step.value, 'body');
      return step;
    },
    // The server calls return() when it stops early (HEAD, 204/304, a fault, a disconnect).
    return(value?: unknown) {
      return typeof inner.return === 'function' ? inner.return(value) : { done: true, value };
    },
    throw(error?: unknown) {
      if (typeof inner.throw === 'function') return inner.throw(error);
      throw error;
    },
  };
}

function asyncChunks(inner: AsyncIterator<unknown>, response: GatewayResponse, lifecycle: Lifecycle, report: Report): AsyncIterator<unknown> {
  return {
    next(...args: [] | [unknown]) {
      if (lifecycle.closed) return Promise.reject(readAfterClose(report));
      return Promise.resolve(inner.next(...args)).then((step) => {
        if (step.done === true) response.end();
        else response.chunk(step.value, 'body');
        return step;
      });
    },
    return(value?: unknown) {
      return typeof inner.return === 'function' ? Promise.resolve(inner.return(value)) : Promise.resolve({ done: true as const, value });
    },
    throw(error?: unknown) {
      return typeof inner.throw === 'function' ? Promise.resolve(inner.throw(error)) : Promise.reject(error);
    },
  };
}
