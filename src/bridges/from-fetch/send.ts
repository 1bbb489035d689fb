/**
 * Sends a fetch handler's `Response` through `send()`. A body whose content is known (a string,
 * bytes, a Blob: the FetchResponse kept it) goes out in one `http.response.body` with its
 * Content-Length, synchronously when it can; a stream goes out one chunk per `send()`, each
 * awaited (backpressure), and is cancelled if the client leaves. Several `Set-Cookie` headers
 * stay several, hop-by-hop headers are dropped (the server owns framing and the connection).
 */
import { HOP_BY_HOP_HEADERS } from '../../spec/constants.js';
import { immediateSenderOf, RESOLVED } from '../../event/http.js';
import type { Send, SendMessage } from '../../spec/event-types.js';
import type { RequestBodySource } from './body.js';
import { FetchResponse } from './response.js';

type Pairs = [string, string][];

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// A header value a Headers object would accept (ByteString, no NUL, CR or LF).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;

/** Blobs up to this size are read whole and sent with their length; larger ones stream. */
const WHOLE_BLOB_LIMIT = 1024 * 1024;

/** One pair as `new Headers(init)` would keep it: a lower-case token name, a trimmed value. */
function checkedPair(name: unknown, value: unknown, out: Pairs): void {
  const text = String(name);
  if (!TOKEN.test(text)) throw new TypeError(`Response headers: ${JSON.stringify(text)} is an invalid header name`);
  let field = String(value);
  if (field !== '' && (field.charCodeAt(0) <= 0x20 || field.charCodeAt(field.length - 1) <= 0x20)) field = field.replace(EDGE_WHITESPACE, '');
  if (!FIELD_VALUE.test(field)) throw new TypeError(`Response headers: the value of ${text} has characters a header cannot carry: ${JSON.stringify(field)}`);
  out.push([text.toLowerCase(), field]);
}

function fromHeaders(headers: Headers, out: Pairs): void {
  headers.forEach((value, name) => {
    if (name !== 'set-cookie') out.push([name, value]);
  });
  for (const cookie of headers.getSetCookie()) out.push(['set-cookie', cookie]);
}

/** `init.headers` as given (a Headers, pairs or a record), checked as `new Headers()` checks it. */
function fromInit(init: unknown, out: Pairs): void {
  if (init === undefined || init === null) return;
  if (init instanceof Headers) return fromHeaders(init, out);
  if (typeof init !== 'object') throw new TypeError(`Response headers must be a Headers, an array of [name, value] pairs or an object; got ${typeof init}`);
  if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const pair of init as Iterable<unknown>) {
      if (pair === null || typeof pair !== 'object' || typeof (pair as Iterable<unknown>)[Symbol.iterator] !== 'function') {
        throw new TypeError('Response headers: each entry must be a [name, value] pair');
      }
      const parts = Array.from(pair as Iterable<unknown>);
      if (parts.length !== 2) throw new TypeError(`Response headers: each entry must be a [name, value] pair; got ${parts.length} items`);
      checkedPair(parts[0], parts[1], out);
    }
    return;
  }
  const record = init as Record<string, unknown>;
  for (const name of Object.keys(record)) checkedPair(name, record[name], out);
}

/** The header list to send, without hop-by-hop fields. A fresh list each time: a middleware may add to it. */
function headerList(headers: Headers | null, init: unknown, defaultType: string | null): Pairs {
  if (headers === null && init === undefined) return defaultType === null ? [] : [['content-type', defaultType]];
  const all: Pairs = [];
  if (headers !== null) fromHeaders(headers, all);
  else {
    fromInit(init, all);
    if (defaultType !== null && !all.some(([name]) => name === 'content-type')) all.push(['content-type', defaultType]);
  }
  let hopByHop = false;
  for (const [name] of all) if (HOP_BY_HOP_HEADERS.has(name)) hopByHop = true;
  return hopByHop ? all.filter(([name]) => !HOP_BY_HOP_HEADERS.has(name)) : all;
}

function standardHeaderList(headers: Headers): Pairs {
  const all: Pairs = [];
  fromHeaders(headers, all);
  return all.filter(([name]) => !HOP_BY_HOP_HEADERS.has(name));
}

/**
 * Sends `response`; the promise settles when the last body message was sent. A body known whole
 * is on its way before this returns (the promise is send()'s own).
 */
export function sendResponse(response: Response, send: Send, source: RequestBodySource, isHead: boolean): Promise<void> {
  if (FetchResponse.isOne(response)) {
    const { status, headers, initHeaders, content, defaultType } = FetchResponse.contentOf(response);
    const list = headerList(headers, initHeaders, defaultType);
    if (content.kind === 'whole') return sendWhole(send, source, status, list, content.body);
    if (content.kind === 'blob' && content.body.size <= WHOLE_BLOB_LIMIT) {
      const blob = content.body;
      return blob.arrayBuffer().then((buffer) => sendWhole(send, source, status, list, new Uint8Array(buffer)));
    }
    const stream = content.kind === 'blob' ? (content.body.stream() as ReadableStream<Uint8Array>) : content.body;
    return sendStream(send, source, status, list, stream, isHead);
  }
  const list = standardHeaderList(response.headers);
  if (response.body === null) return sendWhole(send, source, response.status, list, null);
  return sendStream(send, source, response.status, list, response.body, isHead);
}

/** The whole response in two synchronous send() calls: the head, then the body with its length. */
function sendWhole(send: Send, source: RequestBodySource, status: number, headers: Pairs, body: string | Uint8Array | null): Promise<void> {
  // From here the response is complete as far as the handler is concerned: the disconnect that
  // follows it is not the client leaving early.
  source.responded = true;
  const start: SendMessage = { type: 'http.response.start', status, headers };
  const whole: SendMessage = body === null ? { type: 'http.response.body' } : { type: 'http.response.body', body };
  const immediate = immediateSenderOf(send);
  if (immediate !== null) {
    // The server's own send, without a promise per message: a refused head is reported as
    // itself, and the body is not sent after it.
    try {
      immediate.sendNow(start);
      return immediate.sendNow(whole) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }
  const started = send(start);
  const sent = send(whole);
  // A start that failed (the client left) fails the body too: that one is what we report.
  started.catch(ignore);
  return sent;
}

function ignore(): void {}

/** `read`'s result, or undefined if it has not settled after a few microtasks (a queued chunk has). */
function readNow<T>(read: Promise<T>): Promise<T | undefined> {
  const later = Promise.resolve()
    .then(() => undefined)
    .then(() => undefined);
  return Promise.race([read, later]);
}

async function sendStream(send: Send, source: RequestBodySource, status: number, headers: Pairs, stream: ReadableStream<Uint8Array>, isHead: boolean): Promise<void> {
  if (isHead) {
    // No body on the wire: do not make the producer work for nothing.
    await stream.cancel().catch(() => {});
    return sendWhole(send, source, status, headers, null);
  }
  const reader = stream.getReader();
  try {
    const first = await reader.read();
    if (first.done) return await sendWhole(send, source, status, headers, null);
    // A body that ends right after its first chunk (a standard Response's string or bytes) goes
    // out whole, with a Content-Length; a stream whose next chunk is not there yet does not hold
    // this one back.
    const pending = reader.read();
    const second = await readNow(pending);
    if (second !== undefined && second.done) return await sendWhole(send, source, status, headers, chunk(first.value));
    await send({ type: 'http.response.start', status, headers });
    await send({ type: 'http.response.body', body: chunk(first.value), more_body: true });
    let next = second === undefined ? await pending : second;
    while (!next.done) {
      await send({ type: 'http.response.body', body: chunk(next.value), more_body: true });
      next = await reader.read();
    }
    source.responded = true;
    await send({ type: 'http.response.body' });
  } catch (error) {
    // The client left (send rejected) or the body failed: stop the stream's producer.
    await reader.cancel(error).catch(() => {});
    throw error;
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // A read still pending (the failure came first): the lock goes with the cancelled stream.
    }
  }
}

function chunk(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  throw new TypeError(`a Response body stream must give Uint8Array chunks; got ${value === null ? 'null' : typeof value}`);
}
