// The bodies every benchmark server sends, built once at start-up and shared by the two gateway
// apps and the two bare servers, so a difference between rows is the server, never the payload.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** GET /hello: 13 bytes of text/plain. A string, as a typical app would return it. */
export const HELLO = 'Hello, world!';

/** GET /json: a ~1 KiB document, serialised once (serialisation cost is not what we measure). */
export const JSON_BODY = Buffer.from(JSON.stringify(makeDocument()));

/** GET /64k: one 64 KiB buffer, sent in one piece with a Content-Length. */
export const BODY_64K = Buffer.alloc(64 * 1024, 'a');

/** GET /1m: 16 chunks of 64 KiB, streamed (no Content-Length, so chunked on HTTP/1.1). */
export const STREAM_CHUNK = Buffer.alloc(64 * 1024, 'b');
export const STREAM_1M_CHUNKS = 16;

/** GET /100m: the slow-reader scenario, 1600 chunks of 64 KiB = 100 MiB, streamed. */
export const STREAM_100M_CHUNKS = 1600;

/** GET /headers: the request carries x-h-1 .. x-h-30; the answer is how many of them arrived. */
export const HEADER_COUNT = 30;
export const HEADER_NAMES = Array.from({ length: HEADER_COUNT }, (_, i) => `x-h-${i + 1}`);
/** The same names as environ keys (PEP 3333 style), computed once rather than per request. */
export const HEADER_ENVIRON_KEYS = HEADER_NAMES.map((name) => 'HTTP_' + name.toUpperCase().replace(/-/g, '_'));

/** POST /echo: the bench sends this many bytes; the servers echo whatever they get. */
export const ECHO_SIZE = 4 * 1024;

export const TEXT = 'text/plain';
export const JSON_TYPE = 'application/json';
export const BINARY = 'application/octet-stream';

function makeDocument() {
  // Shaped like an API answer (a list of records), close to 1 KiB once serialised.
  const items = [];
  for (let id = 1; items.length < 10; id++) {
    items.push({ id, name: `item-${id}`, price: id * 3.25, tags: ['bench', 'tsgi'], active: id % 2 === 0 });
  }
  return { ok: true, version: '1.0', count: items.length, items, note: 'x'.repeat(200) };
}

// Header lists built once and shared by both gateway apps: they do what a tuned real app would,
// so the numbers show the server's cost rather than the app allocating arrays per request.
export const TEXT_HEADERS = [['Content-Type', TEXT]];
export const JSON_HEADERS = [['Content-Type', JSON_TYPE]];
export const BINARY_HEADERS = [['Content-Type', BINARY]];

/** How many of the bench's 30 extra request headers reached the environ. */
export function countHeaders(environ) {
  let seen = 0;
  for (const key of HEADER_ENVIRON_KEYS) if (environ[key] !== undefined) seen++;
  return seen;
}

/**
 * GET /hello for the event app: ASGI bodies are bytes, so an event app holds its constant body
 * encoded once (a string body would cost a UTF-8 encode per response).
 */
export const HELLO_BYTES = Buffer.from(HELLO);

// The event app sees the request headers as scope.headers, a list of [lower-case name, value].
const HEADER_BITS = new Map(HEADER_NAMES.map((name, i) => [name, 1 << i]));

/**
 * How many of the bench's 30 extra request headers are in scope.headers: distinct names, like
 * countHeaders (a repeated header is one environ key), kept in a 30-bit mask.
 */
export function countScopeHeaders(headers) {
  let mask = 0;
  for (const [name] of headers) {
    const bit = HEADER_BITS.get(name);
    if (bit !== undefined) mask |= bit;
  }
  let seen = 0;
  for (; mask !== 0; mask &= mask - 1) seen++;
  return seen;
}

/**
 * GET /static/64k.bin: BODY_64K as a file on disk, for static-file serving (staticFiles() and
 * nginx read the same file). Written once into a temp directory shared by both servers.
 */
export const STATIC_PATH = '/static/64k.bin';

export function ensureStaticTree() {
  const root = join(tmpdir(), 'tsgi-bench-static');
  const file = join(root, STATIC_PATH);
  if (!existsSync(file) || statSync(file).size !== BODY_64K.length) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, BODY_64K);
  }
  return root;
}
