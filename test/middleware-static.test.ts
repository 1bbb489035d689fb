/**
 * staticFiles(): files served from a real directory through a real server, for a gateway app and
 * an event app alike. Traversal attempts go over raw sockets (fetch and undici normalise paths);
 * open file handles are observed through /proc/self/fd.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { request, type Dispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { staticFiles, type StaticFilesOptions } from '../src/middleware/static/index.js';
import { gatewayWrapper } from '../src/middleware/shared/kind.js';
import { defineEventApp, type EventApp, type GatewayApp } from '../src/index.js';
import { eventually, parseResponses, rawRequest, startServer, type TestServer } from './helpers.js';
import { connect, wsUrl } from './ws-client.js';

// --- fixtures ----------------------------------------------------------------------------------

const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsgi-static-')));
const root = path.join(base, 'root');
const SECRET = 'the secret outside the root';
const HELLO = 'Hello, world!\n';
const APP_JS = 'export const answer = 42;\n'.repeat(50);
const DATA = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
const BIG_SIZE = 8 * 1024 * 1024;
/** Sparse, so it costs no disk: far more than loopback buffers hold, so a download cannot finish while the client is paused. */
const HUGE_SIZE = 256 * 1024 * 1024;
let bigHash = '';

function write(relative: string, content: string | Buffer): void {
  const file = path.join(base, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

beforeAll(() => {
  write('secret.txt', SECRET);
  write('outside/inner.txt', SECRET);
  write('root/index.html', '<h1>root index</h1>');
  write('root/hello.txt', HELLO);
  write('root/data.bin', DATA);
  write('root/empty.txt', '');
  write('root/unknown.zzz', 'zzz');
  write('root/info.json', '{"a":1}');
  write('root/.env', 'SECRET=1');
  write('root/app.js', APP_JS);
  write('root/app.js.br', zlib.brotliCompressSync(APP_JS));
  write('root/app.js.gz', zlib.gzipSync(APP_JS));
  write('root/style.css', 'body{}'.repeat(20));
  write('root/style.css.gz', zlib.gzipSync('body{}'.repeat(20)));
  write('root/sub/index.html', '<h1>sub index</h1>');
  write('root/noindex/file.txt', 'in noindex');
  write('root/a/b.txt', 'b');
  const big = Buffer.alloc(BIG_SIZE);
  for (let i = 0; i < BIG_SIZE; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  write('root/big.bin', big);
  bigHash = createHash('sha256').update(big).digest('hex');
  const huge = fs.openSync(path.join(root, 'huge.bin'), 'w');
  fs.ftruncateSync(huge, HUGE_SIZE);
  fs.closeSync(huge);
  fs.symlinkSync('../secret.txt', path.join(root, 'link-out.txt'));
  fs.symlinkSync('../outside', path.join(root, 'dir-out'));
  fs.symlinkSync('hello.txt', path.join(root, 'link-in.txt'));
});

afterAll(() => {
  process.off('warning', onWarning);
  // No request of this file left a file to the garbage collector.
  expect(closedByGc).toEqual([]);
  fs.rmSync(base, { recursive: true, force: true });
});

/** The files this process has descriptors open on (Linux), one entry per descriptor. */
function openFiles(): string[] {
  const files: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      files.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed between readdir and readlink
    }
  }
  return files;
}

/** How many of this process's descriptors are open on `file`. */
function openCount(file: string): number {
  return openFiles().filter((open) => open === file).length;
}
const hasProcFd = fs.existsSync('/proc/self/fd');

/**
 * Node closes a leaked FileHandle when it is garbage-collected, which would make a leak look
 * like a close in /proc/self/fd; it says so in a process warning, which is collected here.
 */
const closedByGc: string[] = [];
const onWarning = (warning: Error) => {
  if (/Closing (file descriptor \d+|a FileHandle object) on garbage collection/.test(warning.message)) closedByGc.push(warning.message);
};
process.on('warning', onWarning);

/** Waits until no descriptor is open on `file`, and checks that the middleware closed it, not the GC. */
async function expectClosed(file: string): Promise<void> {
  expect(await eventually(() => openCount(file) === 0, 10_000)).toBe(true);
  // The warning is emitted on a later tick than the close.
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(closedByGc).toEqual([]);
}

// --- the apps ----------------------------------------------------------------------------------

/** What the inner app answers: proof that a request fell through. */
function innerText(method: string, mount: string, pathInfo: string): string {
  return `inner ${method} ${mount}|${pathInfo}`;
}

const gatewayInner: GatewayApp = (environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Inner', 'yes']]);
  return [innerText(environ.REQUEST_METHOD, environ.SCRIPT_NAME, environ.PATH_INFO)];
};

const eventInner: EventApp = defineEventApp(async (scope, receive, send) => {
  if (scope.type === 'lifespan') {
    for (;;) {
      const message = await receive();
      if (message.type === 'lifespan.startup') {
        scope.state.started = 'by lifespan';
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
      await send({ type: 'websocket.send', text: `echo ${scope.path} ${message.text}` });
    }
  }
  const state = typeof scope.state.started === 'string' ? scope.state.started : 'none';
  await send({
    type: 'http.response.start',
    status: 200,
    headers: [['content-type', 'text/plain'], ['x-inner', 'yes'], ['x-state', state]],
  });
  await send({ type: 'http.response.body', body: innerText(scope.method, scope.root_path, scope.path) });
});

/** Mounts `app` under `prefix` the way a router would: the prefix moves to SCRIPT_NAME. */
function mountGateway(prefix: string, app: GatewayApp): GatewayApp {
  return gatewayWrapper(app, (environ, startResponse) => {
    if (environ.PATH_INFO === prefix || environ.PATH_INFO.startsWith(prefix + '/')) {
      environ.SCRIPT_NAME += prefix;
      environ.PATH_INFO = environ.PATH_INFO.slice(prefix.length);
    }
    return app(environ, startResponse);
  });
}

/** The same for an event app: the prefix moves to root_path. */
function mountEvent(prefix: string, app: EventApp): EventApp {
  return defineEventApp(async (scope, receive, send) => {
    if (scope.type !== 'lifespan' && (scope.path === prefix || scope.path.startsWith(prefix + '/'))) {
      return app({ ...scope, root_path: scope.root_path + prefix, path: scope.path.slice(prefix.length) }, receive, send);
    }
    return app(scope, receive, send);
  });
}

interface Variant {
  name: 'gateway' | 'event';
  start(options: Omit<StaticFilesOptions, 'root'>, mount?: string): Promise<TestServer>;
}

const variants: Variant[] = [
  {
    name: 'gateway',
    start: (options, mount) => {
      const app = staticFiles(gatewayInner, { root, ...options });
      return startServer(mount === undefined ? app : mountGateway(mount, app), 'llhttp');
    },
  },
  {
    name: 'event',
    start: (options, mount) => {
      const app = staticFiles(eventInner, { root, ...options });
      return startServer(mount === undefined ? app : mountEvent(mount, app), 'llhttp', { interface: 'event' });
    },
  },
];

// --- clients -----------------------------------------------------------------------------------

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

async function get(server: TestServer, target: string, headers: Record<string, string> = {}, method: Dispatcher.HttpMethod = 'GET'): Promise<Got> {
  const response = await request(server.url + target, { method, headers });
  const body = Buffer.from(await response.body.arrayBuffer());
  return { status: response.statusCode, headers: response.headers, body };
}

/** One request with the exact target bytes given, over a fresh socket. */
async function raw(server: TestServer, target: string): Promise<{ status: number; body: string; inner: boolean }> {
  const result = await rawRequest(server.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 5000);
  const [response] = parseResponses(result.text);
  if (response === undefined) throw new Error(`no response to ${target}: ${JSON.stringify(result.text)}`);
  return { status: response.status, body: response.body, inner: response.header('x-inner').length > 0 };
}

// --- option checks (interface-independent) -----------------------------------------------------

describe('staticFiles options', () => {
  it('refuses a missing root, a root that is a file, and bad options, naming the problem', () => {
    expect(() => staticFiles(gatewayInner, { root: path.join(base, 'nope') })).toThrow(/root directory .*nope.* cannot be opened \(ENOENT\)/);
    expect(() => staticFiles(gatewayInner, { root: path.join(base, 'secret.txt') })).toThrow(/is not a directory/);
    expect(() => staticFiles(gatewayInner, { root, maxAge: -1 })).toThrow(/maxAge must be a number of seconds >= 0; got -1/);
    expect(() => staticFiles(gatewayInner, { root, index: '../x.html' })).toThrow(/options.index must be a file name/);
    expect(() => staticFiles(gatewayInner, undefined as unknown as StaticFilesOptions)).toThrow(/needs options with a root/);
    expect(() => staticFiles(gatewayInner, { root, maxage: 60 } as unknown as StaticFilesOptions)).toThrow(/unknown option "maxage" \(did you mean 'maxAge'\?\)/);
    expect(() => staticFiles(null as unknown as GatewayApp, { root })).toThrow(/staticFiles\(\) needs an app/);
  });

  it('keeps the interface and input mode of the app it wraps', () => {
    expect((staticFiles(eventInner, { root }) as { tsgiInterface?: string }).tsgiInterface).toBe('event');
    const streaming = async () => ['x'];
    expect((staticFiles(streaming, { root }) as { tsgiInput?: string }).tsgiInput).toBe('stream');
    expect((staticFiles(gatewayInner, { root }) as { tsgiInput?: string }).tsgiInput).toBe('buffered');
  });
});

// --- behaviour, once per interface -------------------------------------------------------------

describe.each(variants)('staticFiles ($name app)', (variant) => {
  let server: TestServer;
  let mounted: TestServer;
  let cached: TestServer;
  let noIndex: TestServer;

  beforeAll(async () => {
    server = await variant.start({});
    mounted = await variant.start({}, '/mnt');
    cached = await variant.start({ maxAge: 3600, immutable: true });
    noIndex = await variant.start({ index: false, precompressed: false });
  });

  afterAll(async () => {
    await Promise.all([server, mounted, cached, noIndex].map((s) => s?.close()));
  });

  describe('files', () => {
    it('serves a file with its type, length, validators and caching headers', async () => {
      const res = await get(server, '/hello.txt');
      const mtime = fs.statSync(path.join(root, 'hello.txt')).mtime;
      expect(res.status).toBe(200);
      expect(res.body.toString()).toBe(HELLO);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.headers['content-length']).toBe(String(HELLO.length));
      expect(res.headers['accept-ranges']).toBe('bytes');
      expect(res.headers['etag']).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
      expect(res.headers['last-modified']).toBe(mtime.toUTCString());
      expect(res.headers['cache-control']).toBe('public, max-age=0');
      expect(res.headers['vary']).toBeUndefined();
      expect(res.headers['x-inner']).toBeUndefined();
    });

    it('types files by extension from the MIME table, octet-stream when unknown', async () => {
      expect((await get(server, '/info.json')).headers['content-type']).toBe('application/json; charset=utf-8');
      expect((await get(server, '/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect((await get(server, '/unknown.zzz')).headers['content-type']).toBe('application/octet-stream');
      expect((await get(server, '/data.bin')).headers['content-type']).toBe('application/octet-stream');
    });

    it('answers HEAD with the headers of a GET and no body', async () => {
      const res = await get(server, '/data.bin', {}, 'HEAD');
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('1000');
      expect(res.headers['etag']).toBeDefined();
      expect(res.body.byteLength).toBe(0);
      const huge = await get(server, '/huge.bin', {}, 'HEAD');
      expect(huge.headers['content-length']).toBe(String(HUGE_SIZE));
    });

    it('sees a file replaced by rename, and a deleted file gone, within the second it caches names and descriptors', async () => {
      const name = `swap-${variant.name}.txt`;
      const file = path.join(root, name);
      fs.writeFileSync(file, 'first version');
      expect((await get(server, `/${name}`)).body.toString()).toBe('first version');
      // Atomic replacement, as deploy tools do: write beside, then rename over.
      fs.writeFileSync(`${file}.tmp`, 'second version, longer');
      fs.renameSync(`${file}.tmp`, file);
      // While the old descriptor is cached the old inode is served whole, with its own length.
      const during = await get(server, `/${name}`);
      expect(['first version', 'second version, longer']).toContain(during.body.toString());
      expect(during.headers['content-length']).toBe(String(during.body.byteLength));
      // Polled, not slept for: the cache lets go within a second, however busy the machine.
      const until = async (wanted: (res: Awaited<ReturnType<typeof get>>) => boolean) => {
        const deadline = Date.now() + 10_000;
        for (;;) {
          const res = await get(server, `/${name}`);
          if (wanted(res) || Date.now() > deadline) return res;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      expect((await until((res) => res.body.toString() === 'second version, longer')).body.toString()).toBe('second version, longer');
      fs.unlinkSync(file);
      // Gone: the request falls through to the inner app.
      expect((await until((res) => res.headers['x-inner'] === 'yes')).headers['x-inner']).toBe('yes');
    });

    it('serves an empty file as an empty 200, even when a range is asked for', async () => {
      const res = await get(server, '/empty.txt', { range: 'bytes=0-10' });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe('0');
      expect(res.body.byteLength).toBe(0);
    });

    it('sets Cache-Control from maxAge and immutable', async () => {
      const res = await get(cached, '/hello.txt');
      expect(res.headers['cache-control']).toBe('public, max-age=3600, immutable');
      const revalidated = await get(cached, '/hello.txt', { 'if-none-match': res.headers['etag'] as string });
      expect(revalidated.status).toBe(304);
      expect(revalidated.headers['cache-control']).toBe('public, max-age=3600, immutable');
      // The directory redirect is cached as long, but it is not immutable content.
      const redirect = await get(cached, '/sub');
      expect(redirect.status).toBe(301);
      expect(redirect.headers['cache-control']).toBe('public, max-age=3600');
    });

    it('sends an 8 MiB file byte for byte, and closes it after the last byte', async () => {
      const response = await request(server.url + '/big.bin');
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-length']).toBe(String(BIG_SIZE));
      const hash = createHash('sha256');
      let received = 0;
      for await (const chunk of response.body) {
        hash.update(chunk as Buffer);
        received += (chunk as Buffer).byteLength;
      }
      expect(received).toBe(BIG_SIZE);
      expect(hash.digest('hex')).toBe(bigHash);
      if (hasProcFd) await expectClosed(path.join(root, 'big.bin'));
    });

    it.skipIf(!hasProcFd)('closes the file when the client disconnects mid-download', async () => {
      const huge = path.join(root, 'huge.bin');
      expect(openCount(huge)).toBe(0);
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => {});
      const firstData = new Promise<Buffer>((resolve) => socket.once('data', resolve));
      socket.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = (await firstData).toString('latin1');
      socket.pause();
      expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(head.toLowerCase()).toContain(`content-length: ${HUGE_SIZE}`);
      // Paused with 256 MiB to go: the server waits for the socket with the file open.
      expect(openCount(huge)).toBe(1);
      socket.destroy();
      await expectClosed(huge);
      // The server goes on serving.
      expect((await get(server, '/hello.txt')).body.toString()).toBe(HELLO);
    });
  });

  describe('conditional requests', () => {
    it('answers 304 to a matching If-None-Match (exact, weak, in a list, or *), with validators and no body', async () => {
      const { headers } = await get(server, '/hello.txt');
      const etag = headers['etag'] as string;
      for (const value of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const res = await get(server, '/hello.txt', { 'if-none-match': value });
        expect(res.status, value).toBe(304);
        expect(res.body.byteLength).toBe(0);
        expect(res.headers['etag']).toBe(etag);
        expect(res.headers['last-modified']).toBe(headers['last-modified']);
        expect(res.headers['cache-control']).toBe('public, max-age=0');
      }
      expect((await get(server, '/hello.txt', { 'if-none-match': '"other"' })).status).toBe(200);
    });

    it('answers 304 to If-Modified-Since at or after Last-Modified, and If-None-Match takes precedence', async () => {
      const { headers } = await get(server, '/hello.txt');
      const lastModified = headers['last-modified'] as string;
      expect((await get(server, '/hello.txt', { 'if-modified-since': lastModified })).status).toBe(304);
      const later = new Date(Date.parse(lastModified) + 60_000).toUTCString();
      expect((await get(server, '/hello.txt', { 'if-modified-since': later })).status).toBe(304);
      const earlier = new Date(Date.parse(lastModified) - 60_000).toUTCString();
      const modified = await get(server, '/hello.txt', { 'if-modified-since': earlier });
      expect(modified.status).toBe(200);
      expect(modified.body.toString()).toBe(HELLO);
      expect((await get(server, '/hello.txt', { 'if-modified-since': 'not a date' })).status).toBe(200);
      const overridden = await get(server, '/hello.txt', { 'if-none-match': '"other"', 'if-modified-since': lastModified });
      expect(overridden.status).toBe(200);
    });

    it('answers 412 when If-Match does not match', async () => {
      const { headers } = await get(server, '/hello.txt');
      expect((await get(server, '/hello.txt', { 'if-match': '"other"' })).status).toBe(412);
      expect((await get(server, '/hello.txt', { 'if-match': headers['etag'] as string })).status).toBe(200);
    });
  });

  describe('ranges', () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-9', 0, 9],
      ['bytes=990-', 990, 999],
      ['bytes=-5', 995, 999],
      ['bytes=995-5000', 995, 999],
      ['bytes=-2000', 0, 999],
    ];
    it.each(cases)('%s → 206 with bytes %i-%i', async (range, start, end) => {
      const res = await get(server, '/data.bin', { range });
      expect(res.status).toBe(206);
      expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/1000`);
      expect(res.headers['content-length']).toBe(String(end - start + 1));
      expect(res.body.equals(DATA.subarray(start, end + 1))).toBe(true);
    });

    it('answers 416 with the size for an unsatisfiable range', async () => {
      for (const range of ['bytes=1000-', 'bytes=5000-6000', 'bytes=-0']) {
        const res = await get(server, '/data.bin', { range });
        expect(res.status, range).toBe(416);
        expect(res.headers['content-range']).toBe('bytes */1000');
      }
    });

    it('serves the whole file for several ranges, a malformed Range or another unit', async () => {
      for (const range of ['bytes=0-1,5-6', 'bytes=x-y', 'bytes=9-3', 'items=0-1', 'bytes=']) {
        const res = await get(server, '/data.bin', { range });
        expect(res.status, range).toBe(200);
        expect(res.headers['content-range']).toBeUndefined();
        expect(res.body.equals(DATA)).toBe(true);
      }
    });

    it('honours If-Range: a matching ETag or date gives the range, anything else the whole file', async () => {
      const { headers } = await get(server, '/data.bin');
      const etag = headers['etag'] as string;
      const lastModified = headers['last-modified'] as string;
      expect((await get(server, '/data.bin', { range: 'bytes=0-1', 'if-range': etag })).status).toBe(206);
      expect((await get(server, '/data.bin', { range: 'bytes=0-1', 'if-range': lastModified })).status).toBe(206);
      for (const ifRange of ['"stale"', `W/${etag}`, new Date(Date.parse(lastModified) - 60_000).toUTCString()]) {
        const res = await get(server, '/data.bin', { range: 'bytes=0-1', 'if-range': ifRange });
        expect(res.status, ifRange).toBe(200);
        expect(res.body.equals(DATA)).toBe(true);
      }
      // A stale If-Range also overrides an unsatisfiable range: the client gets the new file.
      expect((await get(server, '/data.bin', { range: 'bytes=5000-', 'if-range': '"stale"' })).status).toBe(200);
    });
  });

  describe('precompressed siblings', () => {
    const br = () => fs.readFileSync(path.join(root, 'app.js.br'));
    const gz = () => fs.readFileSync(path.join(root, 'app.js.gz'));

    it('serves .br or .gz by Accept-Encoding and q-values, with the original type and Vary', async () => {
      const cases: Array<[string | undefined, 'br' | 'gzip' | null]> = [
        ['gzip, deflate, br', 'br'],
        ['gzip', 'gzip'],
        ['x-gzip', 'gzip'],
        ['gzip;q=1, br;q=0.5', 'gzip'],
        ['br;q=0, gzip', 'gzip'],
        ['br;q=0.8, gzip;q=0.8', 'br'],
        ['*', 'br'],
        ['deflate', null],
        ['identity', null],
        ['br;q=0.5, identity;q=1', null],
        [undefined, null],
      ];
      const etags = new Set<string>();
      for (const [accept, coding] of cases) {
        const res = await get(server, '/app.js', accept === undefined ? {} : { 'accept-encoding': accept });
        const label = String(accept);
        expect(res.status, label).toBe(200);
        expect(res.headers['content-type'], label).toBe('text/javascript; charset=utf-8');
        expect(res.headers['vary'], label).toBe('Accept-Encoding');
        expect(res.headers['content-encoding'], label).toBe(coding ?? undefined);
        const expected = coding === 'br' ? br() : coding === 'gzip' ? gz() : Buffer.from(APP_JS);
        expect(res.body.equals(expected), label).toBe(true);
        expect(res.headers['content-length'], label).toBe(String(expected.byteLength));
        etags.add(`${coding}:${res.headers['etag'] as string}`);
      }
      // One ETag per representation, and different representations never share one.
      const tags = [...etags].map((entry) => entry.split(':')[1]);
      expect(new Set(tags).size).toBe(3);
    });

    it('adds Vary even when the identity file is served because only an unaccepted sibling exists', async () => {
      const res = await get(server, '/style.css', { 'accept-encoding': 'br' });
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers['vary']).toBe('Accept-Encoding');
      const gzipped = await get(server, '/style.css', { 'accept-encoding': 'br, gzip' });
      expect(gzipped.headers['content-encoding']).toBe('gzip');
    });

    it('answers conditional and range requests on the compressed representation', async () => {
      const first = await get(server, '/app.js', { 'accept-encoding': 'br' });
      const etag = first.headers['etag'] as string;
      const notModified = await get(server, '/app.js', { 'accept-encoding': 'br', 'if-none-match': etag });
      expect(notModified.status).toBe(304);
      expect(notModified.headers['vary']).toBe('Accept-Encoding');
      // The br ETag does not validate the gzip representation.
      expect((await get(server, '/app.js', { 'accept-encoding': 'gzip', 'if-none-match': etag })).status).toBe(200);
      const part = await get(server, '/app.js', { 'accept-encoding': 'br', range: 'bytes=0-3' });
      expect(part.status).toBe(206);
      expect(part.headers['content-encoding']).toBe('br');
      expect(part.headers['content-range']).toBe(`bytes 0-3/${br().byteLength}`);
      expect(part.body.equals(br().subarray(0, 4))).toBe(true);
    });

    it('decodes to the original file in a client that decompresses (fetch)', async () => {
      const res = await fetch(server.url + '/app.js');
      expect(await res.text()).toBe(APP_JS);
    });

    it('is off with precompressed: false', async () => {
      const res = await get(noIndex, '/app.js', { 'accept-encoding': 'br' });
      expect(res.headers['content-encoding']).toBeUndefined();
      expect(res.headers['vary']).toBeUndefined();
      expect(res.body.toString()).toBe(APP_JS);
    });
  });

  describe('directories', () => {
    it('serves the index of a directory named with a trailing slash', async () => {
      const res = await get(server, '/sub/');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body.toString()).toBe('<h1>sub index</h1>');
      expect((await get(server, '/')).body.toString()).toBe('<h1>root index</h1>');
    });

    it('redirects a directory without its slash to the slash, keeping the query', async () => {
      const res = await get(server, '/sub');
      expect(res.status).toBe(301);
      expect(res.headers['location']).toBe('/sub/');
      const withQuery = await get(server, '/sub?a=1&b=%20c');
      expect(withQuery.headers['location']).toBe('/sub/?a=1&b=%20c');
    });

    it('builds the redirect from the mount point when mounted', async () => {
      const res = await get(mounted, '/mnt/sub?x=1');
      expect(res.status).toBe(301);
      expect(res.headers['location']).toBe('/mnt/sub/?x=1');
      expect((await get(mounted, '/mnt')).headers['location']).toBe('/mnt/');
      expect((await get(mounted, '/mnt/sub/')).body.toString()).toBe('<h1>sub index</h1>');
      expect((await get(mounted, '/mnt/hello.txt')).body.toString()).toBe(HELLO);
      const missing = await get(mounted, '/mnt/nope.txt');
      expect(missing.headers['x-inner']).toBe('yes');
      expect(missing.body.toString()).toBe(innerText('GET', '/mnt', '/nope.txt'));
    });

    it('lets a directory without an index, or any directory with index: false, fall through', async () => {
      for (const target of ['/noindex/', '/noindex']) {
        const res = await get(server, target);
        expect(res.status, target).toBe(200);
        expect(res.body.toString()).toBe(innerText('GET', '', target));
      }
      const res = await get(noIndex, '/sub/');
      expect(res.body.toString()).toBe(innerText('GET', '', '/sub/'));
    });

    it('lets a file named with a trailing slash fall through', async () => {
      expect((await get(server, '/hello.txt/')).body.toString()).toBe(innerText('GET', '', '/hello.txt/'));
    });
  });

  describe('what falls through to the app', () => {
    it('passes other methods to the app, even for existing files', async () => {
      for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'] as const) {
        const res = await get(server, '/hello.txt', {}, method);
        expect(res.headers['x-inner'], method).toBe('yes');
        expect(res.body.toString()).toBe(innerText(method, '', '/hello.txt'));
      }
    });

    it('passes missing files and dotfiles to the app', async () => {
      expect((await get(server, '/nope.txt')).body.toString()).toBe(innerText('GET', '', '/nope.txt'));
      expect((await get(server, '/a/nope/deeper')).body.toString()).toBe(innerText('GET', '', '/a/nope/deeper'));
      expect((await get(server, '/.env')).body.toString()).toBe(innerText('GET', '', '/.env'));
    });

    if (variant.name === 'event') {
      it('passes websockets and lifespan to the app untouched', async () => {
        const client = await connect(wsUrl(server.port, '/hello.txt'));
        client.send('hi');
        expect(await client.next()).toBe('echo /hello.txt hi');
        await client.close();
        // The inner app ran the lifespan protocol: its state reaches the requests it serves.
        expect((await get(server, '/nope.txt')).headers['x-state']).toBe('by lifespan');
      });
    }
  });

  describe('traversal and symlinks', () => {
    const attempts = [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/a/%2e%2e/%2e%2e/secret.txt',
      '/a/../../secret.txt',
      '/..%5csecret.txt',
      '/%2e%2e%5csecret.txt',
      '/a%5c..%5c..%5csecret.txt',
      '/sub/../hello.txt',
      '/./hello.txt',
      '/hello.txt%00.js',
      '/.git/../../secret.txt',
      '/..\\secret.txt',
      '/a\\..\\..\\secret.txt',
    ];
    it.each(attempts)('GET %s → 404 from the middleware, nothing leaked', async (target) => {
      const res = await raw(server, target);
      expect(res.status).toBe(404);
      expect(res.inner).toBe(false);
      expect(res.body).toBe('Not Found');
    });

    it('answers 404 for symlinks that lead out of the root and serves those that stay inside', async () => {
      const out = await get(server, '/link-out.txt');
      expect(out.status).toBe(404);
      expect(out.body.toString()).not.toContain(SECRET);
      expect(out.headers['x-inner']).toBeUndefined();
      expect((await get(server, '/dir-out/inner.txt')).status).toBe(404);
      const inside = await get(server, '/link-in.txt');
      expect(inside.status).toBe(200);
      expect(inside.body.toString()).toBe(HELLO);
    });
  });

  it.skipIf(!hasProcFd)('leaves no file of the root open after all the requests above (HEAD, 304, 416, redirects…)', async () => {
    expect(await eventually(() => openFiles().every((file) => !file.startsWith(root + path.sep)), 10_000)).toBe(true);
    expect(closedByGc).toEqual([]);
  });
});
