/**
 * The checks the tsgi server applies to what an event app sends (docs/spec.md §10), for the
 * bridges that host a tsgi app on another server (toNodeHandler, toFetch): the app gets the same
 * ProtocolError messages wherever it runs. Web-standard code only (no Buffer, no node: modules),
 * since toFetch runs on Deno, Bun and Workers.
 */
import { buildResponseHead, ResponseHeadError } from '../../core/response-head.js';
import { ProtocolError } from '../../event/runtime.js';
import type { HeaderPair } from '../../spec/types.js';

/** A checked `http.response.start`. */
export interface CheckedStart {
  readonly status: number;
  /** The app's headers, validated, in its order (Content-Length included). */
  readonly headers: readonly HeaderPair[];
  /** The app's Content-Length, or -1. */
  readonly declaredLength: number;
  /** The app will send `http.response.trailers`. */
  readonly trailers: boolean;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** Latin-1, as ASGI's byte strings are read (TextDecoder's 'latin1' is windows-1252, so not that). */
function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.byteLength; i++) text += String.fromCharCode(bytes[i]!);
  return text;
}

function text(part: unknown, where: string): string {
  if (typeof part === 'string') return part;
  if (part instanceof Uint8Array) return latin1(part);
  throw new ProtocolError(`${where} must be a string or a Uint8Array; got ${part === null ? 'null' : typeof part}`);
}

/** Headers as an app sends them (any iterable of [name, value], strings or bytes) as string pairs. */
export function headerPairs(headers: unknown, origin: string): HeaderPair[] {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== 'object' || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ProtocolError(`${origin} headers must be an iterable of [name, value] pairs; got ${typeof headers}`);
  }
  const out: HeaderPair[] = [];
  let index = 0;
  for (const pair of headers as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) throw new ProtocolError(`${origin} header #${index} must be a [name, value] pair`);
    out.push([text(pair[0], `${origin} header #${index} name`), text(pair[1], `${origin} header #${index} value`)]);
    index++;
  }
  return out;
}

/** Validates headers with the server's rules (tokens, clean values, no hop-by-hop); returns the declared length. */
function validate(headers: HeaderPair[], origin: string): number {
  try {
    // The status is checked by the caller; the reason phrase is only there to satisfy the format.
    return buildResponseHead('200 -', headers, origin).declaredLength;
  } catch (error) {
    // Event apps see every misuse as one error type (docs/spec.md §9).
    if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
    throw error;
  }
}

/**
 * Checks an `http.response.start`. `trailersRefusal` says why this connection cannot carry
 * trailers, or is null when it can.
 */
export function checkStart(message: { status?: unknown; headers?: unknown; trailers?: unknown }, trailersRefusal: string | null): CheckedStart {
  const origin = 'http.response.start';
  const status = message.status;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new ProtocolError(`${origin} status must be an integer from 200 to 599; got ${JSON.stringify(status)}`);
  }
  const headers = headerPairs(message.headers, origin);
  const declaredLength = validate(headers, origin);
  const trailers = message.trailers === true;
  if (trailers) {
    if (trailersRefusal !== null) {
      throw new ProtocolError(
        `${origin} asked for trailers, but this connection cannot carry them (scope.extensions has no ` +
          `"http.response.trailers": ${trailersRefusal}); send them as headers instead`,
      );
    }
    if (declaredLength !== -1) {
      throw new ProtocolError(`${origin} asked for trailers with a Content-Length header; trailers need a chunked body, so drop the Content-Length`);
    }
  }
  return { status, headers, declaredLength, trailers };
}

/** Checks the headers of an `http.response.trailers`. */
export function checkTrailers(headers: unknown): HeaderPair[] {
  const pairs = headerPairs(headers, 'http.response.trailers');
  validate(pairs, 'http.response.trailers');
  return pairs;
}

/** The bytes of an `http.response.body` message: bytes as they are, text as UTF-8. */
export function bodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return EMPTY;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return utf8.encode(body);
  throw new ProtocolError(`http.response.body body must be a Uint8Array (or a string, sent as UTF-8); got ${typeof body}`);
}

/**
 * Statuses that carry no content (RFC 9110): the body the app sends is discarded and no framing
 * header goes out. 205 is here too, as fetch's Response refuses a body with it.
 */
export function isBodilessStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304;
}

/**
 * The headers to hand the host: the app's, minus Content-Length on a bodiless status, plus the
 * length a GET would have announced on a HEAD response the app gave no length for (as the tsgi
 * server does: docs/spec.md §6).
 */
export function outgoingHeaders(start: CheckedStart, headLength: number | null): HeaderPair[] {
  const bodiless = isBodilessStatus(start.status);
  const out = bodiless ? start.headers.filter(([name]) => name.toLowerCase() !== 'content-length') : [...start.headers];
  if (headLength !== null && !bodiless && start.declaredLength === -1) out.push(['content-length', String(headLength)]);
  return out;
}
