/**
 * Helpers for gateway bodies (docs/spec.md §1): what kind of iterable a body is, and closing the
 * inner body exactly once however the response ended.
 */
import type { AnyBody, BodyChunk } from '../../spec/types.js';

export function isAsyncIterable(value: unknown): value is AsyncIterable<BodyChunk> {
  return value !== null && typeof value === 'object' && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

export function isSyncIterable(value: unknown): value is Iterable<BodyChunk> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'string') &&
    typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function'
  );
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * A function that calls `body.close()` the first time it runs and does nothing after, so a
 * wrapper can call it on every path that ends a response (end, error, early return) without
 * ever closing the inner body twice. Returns what `close()` returned (a promise is passed on).
 */
export function closerOf(body: unknown): () => void | Promise<void> {
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    const close = (body as { close?: unknown } | null)?.close;
    if (typeof close === 'function') return close.call(body) as void | Promise<void>;
  };
}

/** `chunk` as bytes (strings are UTF-8). */
export function chunkBytes(chunk: BodyChunk): Uint8Array {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}

/** The byte length of `chunk` as it will be sent. */
export function chunkLength(chunk: BodyChunk): number {
  return typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.byteLength;
}

export type { AnyBody, BodyChunk };
