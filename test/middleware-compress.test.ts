/**
 * The compress middleware over real sockets (llhttp backend), for gateway and event apps alike:
 * negotiation, every rule that leaves a response alone, Vary, Content-Length and ETag, a
 * streamed body that is flushed chunk by chunk, large bodies, close() on every path, the legacy
 * write(), lazy startResponse, excInfo, trailers, and websockets/lifespan passing through.
 * The client is undici's `request` (or a raw socket), which does not decompress: the tests see
 * the bytes on the wire and decode them themselves.
 */
import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import net from 'node:net';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { compress } from '../src/middleware/compress/index.js';
import {
  defineEventApp,
  type EventApp,
  type GatewayApp,
  type HttpScope,
  type Receive,
  type Send,
  type ServeOptions,
  type StartResponse,
} from '../src/index.js';
import { startServer, type TestServer } from './helpers.js';

// --- what the apps send ----------------------------------------------------------------------

const ZSTD = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';
/** What `*` (or any tie) picks with the default server order. */
const FIRST_CHOICE = ZSTD ? 'zstd' : 'br';

const LINE = 'tsgi compresses this sentence, and the next one as well. ';

/** `size` bytes of compressible ASCII text. */
function text(size: number, seed = ''): string {
  const line = seed + LINE;
  return line.repeat(Math.ceil(size / line.length) + 1).slice(0, size);
}

/** Splits `body` into `parts` nearly equal chunks. */
function split(body: Uint8Array, parts: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const size = Math.ceil(body.byteLength / parts);
  for (let offset = 0; offset < body.byteLength; offset += size) out.push(body.subarray(offset, offset + size));
  return out;
}

/**
 * The response a query asks for, so both apps send the same thing and the tests know what to
 * expect: `size` bytes of text, `type` (or `none`), `status`, `stream=1` for a streamed body in
 * `chunks` parts, `cl=1` to declare the Content-Length, and headers `etag`, `cc`
 * (Cache-Control), `ce` (Content-Encoding: the body is then gzipped by the app) and `vary`.
 */
interface Plan {
  status: number;
  headers: [string, string][];
  body: Buffer;
  chunks: Uint8Array[];
  stream: boolean;
}

function planFor(query: string): Plan {
  const params = new URLSearchParams(query);
  const status = Number(params.get('status') ?? 200);
  let body = Buffer.from(text(Number(params.get('size') ?? 5000)));
  const headers: [string, string][] = [];
  const type = params.get('type') ?? 'text/plain; charset=utf-8';
  if (type !== 'none') headers.push(['Content-Type', type]);
  const encoding = params.get('ce');
  if (encoding !== null) {
    body = zlib.gzipSync(body);
    headers.push(['Content-Encoding', encoding]);
  }
  if (params.get('cl') === '1') headers.push(['Content-Length', String(body.byteLength)]);
  for (const [key, name] of [
    ['etag', 'ETag'],
    ['cc', 'Cache-Control'],
    ['vary', 'Vary'],
    ['range', 'Content-Range'],
  ] as const) {
    const value = params.get(key);
    if (value !== null) headers.push([name, value]);
  }
  const stream = params.get('stream') === '1';
  return { status, headers, body, chunks: split(body, Number(params.get('chunks') ?? 4)), stream };
}

// --- what the tests control ------------------------------------------------------------------

interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Shared between the apps and the test that drives them; reset before each test. */
let controls = newControls();

function newControls() {
  return {
    /** Released by the test when the app may produce its next chunk. */
    gate: deferred(),
    /** How often the app's body close() ran, and a promise of the first time. */
    closes: 0,
    closed: deferred(),
    /** The app's body generator ran its finally block (return() reached it). */
    stopped: deferred(),
    /** What an event app's send() did after the client left. */
    sendAfterDisconnect: deferred<unknown>(),
  };
}

/** A body with a close() the test counts. */
function counted<T>(body: T): T & { close(): void } {
  return Object.assign(body as object, {
    close() {
      controls.closes++;
      controls.closed.resolve();
    },
  }) as T & { close(): void };
}

const FLUSH_1 = text(300, 'first ');
const FLUSH_2 = text(300, 'second ');

/** A big body for the round trip: 6 MiB in 64 KiB chunks, varied enough to be worth checking. */
const LARGE_CHUNK = 64 * 1024;
const LARGE_COUNT = 96;
function largeChunk(index: number): Buffer {
  return Buffer.from(text(LARGE_CHUNK, `chunk ${index} `));
}
const LARGE_HASH = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < LARGE_COUNT; i++) hash.update(largeChunk(i));
  return hash.digest('hex');
})();

// --- the apps, once per interface ------------------------------------------------------------

function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
}

const gatewayApp: GatewayApp = (environ, startResponse: StartResponse) => {
  const path = environ.PATH_INFO;
  const query = environ.QUERY_STRING;
  const textHead: [string, string][] = [['Content-Type', 'text/plain']];
  switch (path) {
    case '/flush':
      startResponse('200 OK', textHead);
      return (async function* () {
        yield FLUSH_1;
        await controls.gate.promise;
        yield FLUSH_2;
      })();
    case '/disconnect':
      startResponse('200 OK', textHead);
      return counted({
        async *[Symbol.asyncIterator]() {
          try {
            yield text(3000);
            await controls.gate.promise;
            yield text(3000);
          } finally {
            controls.stopped.resolve();
          }
        },
      });
    case '/counted':
      startResponse('200 OK', textHead);
      return counted({
        async *[Symbol.asyncIterator]() {
          yield text(3000);
          yield text(3000);
        },
      });
    case '/counted-array':
      startResponse('200 OK', textHead);
      return counted([text(3000), text(3000)]);
    case '/large':
      startResponse('200 OK', textHead);
      return (async function* () {
        for (let i = 0; i < LARGE_COUNT; i++) yield largeChunk(i);
      })();
    case '/large-whole': {
      startResponse('200 OK', textHead);
      const chunks: Buffer[] = [];
      for (let i = 0; i < 16; i++) chunks.push(largeChunk(i));
      return chunks;
    }
    case '/error':
      startResponse('200 OK', textHead);
      return (async function* () {
        yield text(3000);
        throw new Error('the body failed on purpose');
      })();
    case '/write': {
      const type = new URLSearchParams(query).get('type') ?? 'text/plain';
      const write = startResponse('200 OK', [['Content-Type', type]]);
      write(text(3000, 'a '));
      write(Buffer.from(text(3000, 'b ')));
      return [text(3000, 'c ')];
    }
    case '/lazy-sync':
      return (function* () {
        startResponse('200 OK', [['Content-Type', 'text/html']]);
        yield text(3000, 'lazy ');
        yield text(3000, 'sync ');
      })();
    case '/lazy-async':
      return (async function* () {
        startResponse('200 OK', [['Content-Type', 'text/html']]);
        yield text(3000, 'lazy ');
        yield text(3000, 'async ');
      })();
    case '/excinfo': {
      const type = new URLSearchParams(query).get('type') ?? 'text/plain';
      startResponse('200 OK', textHead);
      return (async function* () {
        try {
          throw new Error('rendering failed');
        } catch (error) {
          startResponse('500 Internal Server Error', [['Content-Type', type]], error);
          yield text(3000, 'failed ');
        }
      })();
    }
  }
  const plan = planFor(query);
  startResponse(statusLine(plan.status), plan.headers);
  if (!plan.stream) return plan.chunks;
  return (async function* () {
    for (const chunk of plan.chunks) yield chunk;
  })();
};

async function respondTo(scope: HttpScope, receive: Receive, send: Send): Promise<void> {
  const textHead: [string, string][] = [['content-type', 'text/plain']];
  switch (scope.path) {
    case '/flush':
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      await send({ type: 'http.response.body', body: Buffer.from(FLUSH_1), more_body: true });
      await controls.gate.promise;
      await send({ type: 'http.response.body', body: Buffer.from(FLUSH_2) });
      return;
    case '/disconnect': {
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      await send({ type: 'http.response.body', body: text(3000), more_body: true });
      while ((await receive()).type !== 'http.disconnect');
      try {
        await send({ type: 'http.response.body', body: text(3000), more_body: true });
        controls.sendAfterDisconnect.resolve('resolved');
      } catch (error) {
        controls.sendAfterDisconnect.resolve(error);
      }
      return;
    }
    case '/large':
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      for (let i = 0; i < LARGE_COUNT; i++) await send({ type: 'http.response.body', body: largeChunk(i), more_body: true });
      await send({ type: 'http.response.body' });
      return;
    case '/large-whole': {
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      const chunks: Buffer[] = [];
      for (let i = 0; i < 16; i++) chunks.push(largeChunk(i));
      await send({ type: 'http.response.body', body: Buffer.concat(chunks) });
      return;
    }
    case '/error':
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      await send({ type: 'http.response.body', body: text(3000), more_body: true });
      throw new Error('the body failed on purpose');
    case '/trailers':
      await send({ type: 'http.response.start', status: 200, headers: textHead, trailers: true });
      await send({ type: 'http.response.body', body: text(3000, 'one '), more_body: true });
      await send({ type: 'http.response.body', body: text(3000, 'two ') });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc123']] });
      return;
    case '/byte-headers':
      await send({
        type: 'http.response.start',
        status: 200,
        headers: [[Buffer.from('content-type') as unknown as string, Buffer.from('text/plain') as unknown as string]],
      });
      await send({ type: 'http.response.body', body: text(5000) });
      return;
    case '/unawaited': {
      // send() promises collected, not awaited one by one: the order must still hold.
      const sends = [
        send({ type: 'http.response.start', status: 200, headers: textHead }),
        send({ type: 'http.response.body', body: text(3000, 'one '), more_body: true }),
        send({ type: 'http.response.body', body: text(3000, 'two '), more_body: true }),
        send({ type: 'http.response.body', body: text(3000, 'three ') }),
      ];
      await Promise.all(sends);
      return;
    }
    case '/state':
      await send({ type: 'http.response.start', status: 200, headers: textHead });
      await send({ type: 'http.response.body', body: String(scope.state.ready) });
      return;
  }
  const plan = planFor(scope.query_string);
  await send({ type: 'http.response.start', status: plan.status, headers: plan.headers });
  if (!plan.stream) {
    await send({ type: 'http.response.body', body: plan.body });
    return;
  }
  for (let i = 0; i < plan.chunks.length; i++) {
    // The last chunk ends the body itself (no separate empty message).
    await send({ type: 'http.response.body', body: plan.chunks[i], more_body: i < plan.chunks.length - 1 });
  }
}

const eventApp: EventApp = defineEventApp(async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const message = await receive();
      if (message.type === 'lifespan.startup') {
        scope.state.ready = 'set during startup';
        await send({ type: 'lifespan.startup.complete' });
      } else if (message.type === 'lifespan.shutdown') {
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
    }
  }
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    for (;;) {
      const message = await receive();
      if (message.type !== 'websocket.receive') return;
      if (message.text !== undefined) await send({ type: 'websocket.send', text: message.text });
      else await send({ type: 'websocket.send', bytes: message.bytes! });
    }
  }
  await respondTo(scope, receive, send);
});

// --- the client ------------------------------------------------------------------------------

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it came over the wire. */
  raw: Buffer;
  /** The body decoded according to its Content-Encoding. */
  decoded: Buffer;
  trailers: Record<string, string | string[] | undefined>;
}

function decode(encoding: unknown, raw: Buffer): Buffer {
  if (encoding === undefined) return raw;
  if (encoding === 'gzip') return zlib.gunzipSync(raw);
  if (encoding === 'br') return zlib.brotliDecompressSync(raw);
  if (encoding === 'zstd') return (zlib as unknown as { zstdDecompressSync(data: Buffer): Buffer }).zstdDecompressSync(raw);
  throw new Error(`unexpected Content-Encoding ${String(encoding)}`);
}

function decoder(encoding: string): Transform {
  if (encoding === 'gzip') return zlib.createGunzip();
  if (encoding === 'br') return zlib.createBrotliDecompress();
  return (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress();
}

async function get(url: string, acceptEncoding?: string, options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {}): Promise<Got> {
  const headers: Record<string, string> = { ...options.headers };
  if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
  const response = await request(url, { method: options.method ?? 'GET', headers });
  const raw = Buffer.from(await response.body.arrayBuffer());
  return {
    status: response.statusCode,
    headers: response.headers,
    raw,
    decoded: decode(response.headers['content-encoding'], raw),
    trailers: response.trailers,
  };
}

/** Waits for `promise`, failing with `message` after `ms` instead of hanging the suite. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// --- the suites ------------------------------------------------------------------------------

const extraServers: TestServer[] = [];

async function serveExtra(app: GatewayApp | EventApp, options: ServeOptions = {}): Promise<TestServer> {
  const server = await startServer(app as GatewayApp, 'llhttp', { lifespan: 'off', ...options });
  extraServers.push(server);
  return server;
}

beforeEach(() => {
  controls = newControls();
});

afterEach(async () => {
  // Let any app still waiting on the gate finish before its server closes.
  controls.gate.resolve();
  await Promise.all(extraServers.splice(0).map((server) => server.close()));
});

describe.each([
  ['gateway', gatewayApp],
  ['event', eventApp],
] as const)('compress(%s app)', (kind, app) => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer(compress(app as GatewayApp), 'llhttp', { lifespan: 'off' });
    url = server.url;
  });

  afterAll(async () => {
    await server.close();
    // Only the test that makes its app fail on purpose logs anything.
    expect(server.errors.filter((line) => !line.includes('GET /error'))).toEqual([]);
  });

  describe('negotiation', () => {
    it('gzips a whole body for a client that accepts gzip, with the new Content-Length and Vary', async () => {
      const got = await get(`${url}/plain?size=5000`, 'gzip');
      expect(got.status).toBe(200);
      expect(got.headers['content-encoding']).toBe('gzip');
      expect(got.headers.vary).toBe('Accept-Encoding');
      expect(got.headers['content-length']).toBe(String(got.raw.byteLength));
      expect(got.headers['transfer-encoding']).toBeUndefined();
      expect(got.raw.byteLength).toBeLessThan(1000);
      expect(got.decoded.toString()).toBe(text(5000));
      // The app's own Content-Length is replaced by the compressed one.
      const declared = await get(`${url}/plain?size=5000&cl=1`, 'gzip');
      expect(declared.headers['content-length']).toBe(String(declared.raw.byteLength));
      expect(declared.decoded.toString()).toBe(text(5000));
    });

    it.each([
      ['gzip;q=0.5, br', 'br'],
      ['br;q=0.1, gzip', 'gzip'],
      ['GZIP', 'gzip'],
      ['x-gzip', 'gzip'],
      ['gzip, br', 'br'],
      ['*', FIRST_CHOICE],
      ['br;q=0, *;q=0.2', ZSTD ? 'zstd' : 'gzip'],
      ['deflate, gzip;q=0.8, identity;q=0.1', 'gzip'],
    ])('Accept-Encoding %j picks %s', async (accept, expected) => {
      const got = await get(`${url}/plain`, accept);
      expect(got.headers['content-encoding']).toBe(expected);
      expect(got.decoded.toString()).toBe(text(5000));
    });

    it.skipIf(!ZSTD)(`zstd when the client prefers it${ZSTD ? '' : ` (skipped: Node ${process.version} has no zlib.createZstdCompress)`}`, async () => {
      const got = await get(`${url}/plain`, 'gzip;q=0.5, zstd');
      expect(got.headers['content-encoding']).toBe('zstd');
      expect(got.decoded.toString()).toBe(text(5000));
      const streamed = await get(`${url}/plain?stream=1`, 'zstd');
      expect(streamed.headers['content-encoding']).toBe('zstd');
      expect(streamed.decoded.toString()).toBe(text(5000));
    });

    it.each([
      ['no Accept-Encoding', undefined],
      ['an empty Accept-Encoding', ''],
      ['only identity', 'identity'],
      ['every offered encoding refused (q=0)', 'gzip;q=0, br;q=0, zstd;q=0'],
      ['identity preferred over gzip', 'gzip;q=0.5, identity'],
      ['only encodings the server lacks', 'deflate, compress'],
      ['a malformed q-value', 'gzip;q=high'],
    ])('sends the body as it is for %s, with Vary', async (_, accept) => {
      const got = await get(`${url}/plain`, accept);
      expect(got.headers['content-encoding']).toBeUndefined();
      expect(got.headers.vary).toBe('Accept-Encoding');
      expect(got.headers['content-length']).toBe('5000');
      expect(got.raw.toString()).toBe(text(5000));
    });

    it('adds Vary for a client that accepts no encoding only where compression was possible', async () => {
      const streamed = await get(`${url}/plain?stream=1&size=50000`);
      expect(streamed.headers['content-encoding']).toBeUndefined();
      expect(streamed.headers.vary).toBe('Accept-Encoding');
      expect(streamed.raw.toString()).toBe(text(50000));
      const declared = await get(`${url}/plain?stream=1&size=5000&cl=1`);
      expect(declared.headers.vary).toBe('Accept-Encoding');
      expect(declared.headers['content-length']).toBe('5000');
      // Below minSize: never compressed, whatever the client accepts, so nothing varies.
      const small = await get(`${url}/plain?size=100`);
      expect(small.headers.vary).toBeUndefined();
      expect(small.raw.toString()).toBe(text(100));
    });

    it('breaks q-value ties by the server order given in encodings', async () => {
      const other = await serveExtra(compress(app as GatewayApp, { encodings: ['gzip', 'br'] }));
      expect((await get(`${other.url}/plain`, 'br, gzip')).headers['content-encoding']).toBe('gzip');
      expect((await get(`${other.url}/plain`, 'br, gzip;q=0.9')).headers['content-encoding']).toBe('br');
      // zstd is not offered by this instance.
      expect((await get(`${other.url}/plain`, 'zstd')).headers['content-encoding']).toBeUndefined();
    });

    it('honours minSize and per-encoding levels', async () => {
      const other = await serveExtra(compress(app as GatewayApp, { minSize: 10, level: { gzip: 1, br: 11 } }));
      const small = await get(`${other.url}/plain?size=50`, 'gzip');
      expect(small.headers['content-encoding']).toBe('gzip');
      expect(small.decoded.toString()).toBe(text(50));
      const fast = await get(`${other.url}/plain?size=50000`, 'gzip');
      const best = await get(`${url}/plain?size=50000`, 'gzip');
      expect(fast.decoded.toString()).toBe(text(50000));
      // Level 1 and level 6 give different bytes for the same body.
      expect(fast.raw.equals(best.raw)).toBe(false);
      const brotli = await get(`${other.url}/plain?size=50000`, 'br');
      expect(brotli.decoded.toString()).toBe(text(50000));
    });
  });

  describe('responses left alone', () => {
    it.each([
      ['a HEAD request', '/plain', { method: 'HEAD' as const }],
      ['a Range request', '/plain', { headers: { range: 'bytes=0-99' } }],
      ['a 206 response', '/plain?status=206&range=bytes%200-4999/9999', {}],
      ['an already encoded body', '/plain?ce=gzip', {}],
      ['Cache-Control: no-transform', '/plain?cc=public,%20no-transform', {}],
      ['text/event-stream', '/plain?type=text/event-stream&stream=1', {}],
      ['a whole body below minSize', '/plain?size=1023', {}],
      ['a streamed body whose Content-Length is below minSize', '/plain?size=500&stream=1&cl=1', {}],
      ['a type that is compressed already (image/png)', '/plain?type=image/png', {}],
      ['a body without Content-Type', '/plain?type=none', {}],
    ])('%s: no Content-Encoding, no Vary, the bytes as sent', async (_, path, options) => {
      const got = await get(`${url}${path}`, 'gzip, br', options);
      const plan = planFor(path.includes('?') ? path.slice(path.indexOf('?') + 1) : '');
      expect(got.status).toBe(plan.status);
      expect(got.headers['content-encoding']).toBe(path.includes('ce=') ? 'gzip' : undefined);
      expect(got.headers.vary).toBeUndefined();
      if ((options as { method?: string }).method === 'HEAD') {
        // The length a GET would have announced, uncompressed.
        expect(got.headers['content-length']).toBe(String(plan.body.byteLength));
        expect(got.raw.byteLength).toBe(0);
      } else {
        expect(got.raw.equals(plan.body)).toBe(true);
      }
    });

    it.each([204, 304])('a %i response gets no Content-Encoding', async (status) => {
      const got = await get(`${url}/plain?status=${status}`, 'gzip');
      expect(got.status).toBe(status);
      expect(got.headers['content-encoding']).toBeUndefined();
      expect(got.headers.vary).toBeUndefined();
      expect(got.raw.byteLength).toBe(0);
    });
  });

  describe('headers', () => {
    it('adds Accept-Encoding to an existing Vary', async () => {
      const got = await get(`${url}/plain?vary=Origin`, 'gzip');
      expect(got.headers.vary).toBe('Origin, Accept-Encoding');
      const plain = await get(`${url}/plain?vary=Origin`);
      expect(plain.headers.vary).toBe('Origin, Accept-Encoding');
    });

    it('weakens a strong ETag of a compressed response and keeps a weak one', async () => {
      expect((await get(`${url}/plain?etag="v1"`, 'gzip')).headers.etag).toBe('W/"v1"');
      expect((await get(`${url}/plain?etag=W/"v2"`, 'gzip')).headers.etag).toBe('W/"v2"');
      // Not compressed: the validator still describes the bytes sent.
      expect((await get(`${url}/plain?etag="v1"`)).headers.etag).toBe('"v1"');
    });

    it('drops the Content-Length of a streamed body (chunked instead) and keeps the body intact', async () => {
      for (const query of ['stream=1&size=50000&chunks=5', 'stream=1&size=50000&chunks=5&cl=1']) {
        const got = await get(`${url}/plain?${query}`, 'gzip');
        expect(got.headers['content-encoding']).toBe('gzip');
        expect(got.headers['content-length']).toBeUndefined();
        expect(got.headers['transfer-encoding']).toBe('chunked');
        expect(got.decoded.toString()).toBe(text(50000));
      }
    });

    it('compresses types mime-db calls compressible and +json/+xml suffixes', async () => {
      for (const type of ['application/json', 'image/svg+xml', 'application/vnd.example+json', 'text/x-unknown']) {
        const got = await get(`${url}/plain?type=${encodeURIComponent(type)}`, 'br');
        expect(got.headers['content-encoding'], type).toBe('br');
        expect(got.decoded.toString()).toBe(text(5000));
      }
    });
  });

  describe('streaming', () => {
    it.each(['gzip', 'br'])('flushes each chunk the app produces (%s): chunk 1 decodes before chunk 2 exists', async (encoding) => {
      const response = await request(`${url}/flush`, { headers: { 'accept-encoding': encoding } });
      expect(response.headers['content-encoding']).toBe(encoding);
      const inflate = decoder(encoding);
      response.body.pipe(inflate);
      let decoded = '';
      const firstChunk = deferred();
      const ended = new Promise<void>((resolve, reject) => {
        inflate.on('data', (part: Buffer) => {
          decoded += part.toString();
          if (decoded.length >= FLUSH_1.length) firstChunk.resolve();
        });
        inflate.on('end', resolve);
        inflate.on('error', reject);
      });
      // The app produces chunk 2 only after the gate opens, so chunk 1 can only arrive if the
      // middleware flushed it on its own.
      await within(firstChunk.promise, 10_000, 'chunk 1 was not delivered on its own: the compressor held it back');
      expect(decoded).toBe(FLUSH_1);
      controls.gate.resolve();
      await ended;
      expect(decoded).toBe(FLUSH_1 + FLUSH_2);
    });

    it('round-trips a 6 MiB streamed body byte for byte', async () => {
      for (const encoding of ['gzip', 'br']) {
        const got = await get(`${url}/large`, encoding);
        expect(got.headers['content-encoding']).toBe(encoding);
        expect(got.decoded.byteLength).toBe(LARGE_CHUNK * LARGE_COUNT);
        expect(sha256(got.decoded)).toBe(LARGE_HASH);
      }
    });

    it('round-trips a 1 MiB whole body (compressed off the event loop) with its Content-Length', async () => {
      const expected = Buffer.concat(Array.from({ length: 16 }, (_, i) => largeChunk(i)));
      const got = await get(`${url}/large-whole`, 'br');
      expect(got.headers['content-encoding']).toBe('br');
      expect(got.headers['content-length']).toBe(String(got.raw.byteLength));
      expect(got.decoded.equals(expected)).toBe(true);
    });

    it('passes an error raised mid-body on: the client sees a cut response, not a complete one', async () => {
      const response = await request(`${url}/error`, { headers: { 'accept-encoding': 'gzip' } });
      expect(response.headers['content-encoding']).toBe('gzip');
      await expect(response.body.arrayBuffer()).rejects.toThrow();
      expect(server.errors.join('\n')).toContain('the body failed on purpose');
    });
  });

  it('stops the app when the client disconnects mid-stream', async () => {
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    let received = Buffer.alloc(0);
    await new Promise<void>((resolve) => {
      socket.on('data', (data: Buffer) => {
        received = Buffer.concat([received, data]);
        const headEnd = received.indexOf('\r\n\r\n');
        // The head and some of the first compressed chunk.
        if (headEnd !== -1 && received.byteLength > headEnd + 10) resolve();
      });
      socket.write('GET /disconnect HTTP/1.1\r\nHost: test\r\nAccept-Encoding: gzip\r\n\r\n');
    });
    expect(received.toString('latin1')).toMatch(/content-encoding: gzip/i);
    socket.destroy();
    if (kind === 'gateway') {
      await within(controls.closed.promise, 10_000, 'the body close() was not called after the client left');
      // The generator is parked on the gate; once released, the return() it was sent ends it.
      controls.gate.resolve();
      await within(controls.stopped.promise, 10_000, 'the body iterator was not stopped (return()) after the client left');
      // Another response later, close() still ran once.
      await get(`${url}/plain`, 'gzip');
      expect(controls.closes).toBe(1);
    } else {
      const outcome = await controls.sendAfterDisconnect.promise;
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).name).toBe('DisconnectedError');
    }
  });
});

describe('compress(gateway app) only', () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer(compress(gatewayApp), 'llhttp');
    url = server.url;
  });

  afterAll(async () => {
    console.log('ERRORS', JSON.stringify(server.errors, null, 1));
    await server.close();
  });

  it.each(['/counted', '/counted-array'])('calls the body close() exactly once when %s ends normally', async (path) => {
    const got = await get(`${url}${path}`, 'gzip');
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.decoded.toString()).toBe(text(3000) + text(3000));
    await within(controls.closed.promise, 10_000, 'the body close() was not called');
    await get(`${url}/plain`, 'gzip');
    expect(controls.closes).toBe(1);
  });

  it('calls close() once when the response is not compressed', async () => {
    const got = await get(`${url}/counted`);
    expect(got.headers['content-encoding']).toBeUndefined();
    await within(controls.closed.promise, 10_000, 'the body close() was not called');
    await get(`${url}/plain`);
    expect(controls.closes).toBe(1);
  });

  it('compresses legacy write() chunks in order, before the returned body', async () => {
    const got = await get(`${url}/write`, 'gzip');
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.decoded.toString()).toBe(text(3000, 'a ') + text(3000, 'b ') + text(3000, 'c '));
  });

  it('passes legacy write() through when the response is not compressed', async () => {
    const got = await get(`${url}/write?type=image/png`, 'gzip');
    expect(got.headers['content-encoding']).toBeUndefined();
    expect(got.raw.toString()).toBe(text(3000, 'a ') + text(3000, 'b ') + text(3000, 'c '));
  });

  it.each([
    ['/lazy-sync', 'sync '],
    ['/lazy-async', 'async '],
  ])('compresses a body whose generator calls startResponse lazily (%s)', async (path, seed) => {
    const got = await get(`${url}${path}`, 'br');
    expect(got.status).toBe(200);
    expect(got.headers['content-encoding']).toBe('br');
    expect(got.headers['content-type']).toBe('text/html');
    expect(got.decoded.toString()).toBe(text(3000, 'lazy ') + text(3000, seed));
  });

  it('applies a startResponse with excInfo made before any byte went out', async () => {
    const compressed = await get(`${url}/excinfo`, 'gzip');
    expect(compressed.status).toBe(500);
    expect(compressed.headers['content-encoding']).toBe('gzip');
    expect(compressed.decoded.toString()).toBe(text(3000, 'failed '));
    // The replacement head is not compressible: the rest goes out as it is.
    const plain = await get(`${url}/excinfo?type=image/png`, 'gzip');
    expect(plain.status).toBe(500);
    expect(plain.headers['content-type']).toBe('image/png');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.raw.toString()).toBe(text(3000, 'failed '));
  });

  it('keeps a buffered app buffered', () => {
    const buffered: GatewayApp = () => [];
    const stream: GatewayApp = async () => [];
    expect((compress(buffered) as { tsgiInput?: string }).tsgiInput).toBe('buffered');
    expect((compress(stream) as { tsgiInput?: string }).tsgiInput).toBe('stream');
  });
});

describe('compress(event app) only', () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startServer(compress(eventApp), 'llhttp', { lifespan: 'on' });
    url = server.url;
  });

  afterAll(async () => {
    console.log('ERRORS', JSON.stringify(server.errors, null, 1));
    await server.close();
  });

  it('compresses a body with trailers as a stream and passes the trailers on', async () => {
    const got = await get(`${url}/trailers`, 'gzip', { headers: { te: 'trailers' } });
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.headers['content-length']).toBeUndefined();
    expect(got.decoded.toString()).toBe(text(3000, 'one ') + text(3000, 'two '));
    expect(got.trailers['x-checksum']).toBe('abc123');
  });

  it('keeps the order of body messages an app sends without awaiting each', async () => {
    const expected = text(3000, 'one ') + text(3000, 'two ') + text(3000, 'three ');
    const got = await get(`${url}/unawaited`, 'br');
    expect(got.headers['content-encoding']).toBe('br');
    expect(got.decoded.toString()).toBe(expected);
    // Not compressed: the held start and first body go out before the messages after them.
    const plain = await get(`${url}/unawaited`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.raw.toString()).toBe(expected);
  });

  it('reads header names and values sent as bytes', async () => {
    const got = await get(`${url}/byte-headers`, 'gzip');
    expect(got.headers['content-encoding']).toBe('gzip');
    expect(got.decoded.toString()).toBe(text(5000));
  });

  it('passes the lifespan through: the state set at startup reaches requests', async () => {
    const got = await get(`${url}/state`);
    expect(got.raw.toString()).toBe('set during startup');
  });

  it('passes websockets through untouched', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws`, { headers: { 'accept-encoding': 'gzip, br' } });
    const upgrade = new Promise<Record<string, unknown>>((resolve) => ws.once('upgrade', (response) => resolve(response.headers)));
    const messages: Array<{ data: Buffer; binary: boolean }> = [];
    const twoMessages = new Promise<void>((resolve) =>
      ws.on('message', (data: Buffer, binary: boolean) => {
        messages.push({ data, binary });
        if (messages.length === 2) resolve();
      }),
    );
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const headers = await upgrade;
    expect(headers['content-encoding']).toBeUndefined();
    expect(headers.vary).toBeUndefined();
    ws.send(text(5000));
    ws.send(Buffer.from(text(2000)), { binary: true });
    await twoMessages;
    expect(messages[0]!.binary).toBe(false);
    expect(messages[0]!.data.toString()).toBe(text(5000));
    expect(messages[1]!.binary).toBe(true);
    expect(messages[1]!.data.equals(Buffer.from(text(2000)))).toBe(true);
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
  });
});

describe('compress() options', () => {
  const app: GatewayApp = () => [];

  it.each([
    [{ minSize: -1 }, /minSize must be a whole number/],
    [{ minSize: 1.5 }, /minSize/],
    [{ level: 0 }, /level must be a whole number from 1 to 9/],
    [{ level: { br: 12 } }, /level\.br must be a whole number from 0 to 11/],
    [{ level: { deflate: 5 } }, /unknown encoding "deflate"/],
    [{ encodings: [] }, /non-empty array/],
    [{ encodings: ['deflate'] }, /encodings lists "deflate"/],
    [{ encodings: ['gzip', 'gzip'] }, /twice/],
    [{ minsize: 10 }, /unknown option "minsize"/],
  ])('refuses %j at wrap time', (options, message) => {
    expect(() => compress(app, options as never)).toThrow(message);
  });

  it.skipIf(ZSTD)(`refuses encodings: ['zstd'] on a Node without zstd${ZSTD ? ' (skipped: this Node has zstd)' : ''}`, () => {
    expect(() => compress(app, { encodings: ['zstd'] })).toThrow(/no zstd in zlib/);
  });

  it('refuses something that is not an app', () => {
    expect(() => compress(null as never)).toThrow(/compress\(\) needs an app/);
  });
});
