/**
 * Every middleware of `tsgi/middleware` and both interface bridges, driven through the in-process
 * `TestClient` (`tsgi/testing`) with contract validation on (its default): each request, websocket
 * and lifespan runs under `validate()`, so a middleware that breaks the contract itself fails here
 * with a ContractViolation even when its socket tests pass. The inner apps run under validate()
 * as well, so what a middleware hands its app (environ, scope, messages, body pulls and close())
 * is checked too. The inner apps are written once per interface and the same expectations run
 * against both (describe.each); what only event apps have (websockets, lifespan) is tested on its own.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { defineEventApp, eventToGateway, gatewayToEvent } from '../src/index.js';
import type { Environ, EventApp, GatewayApp, HttpScope, SendMessage, StartResponse, WebSocketScope } from '../src/index.js';
import {
  compose,
  compress,
  ContractViolation as MiddlewareContractViolation,
  cors,
  httpsRedirect,
  mount,
  staticFiles,
  trustedHosts,
  validate,
} from '../src/middleware/index.js';
import { isEventApp, wrapEither, type AnyApp } from '../src/middleware/shared/kind.js';
import { ContractViolation, LifespanError, TestClient, trailersOf, WebSocketRefused } from '../src/testing/index.js';
import { KINDS, readAll, Signal, text, upload, type Kind } from './in-process-helpers.js';


// --- small tools ----------------------------------------------------------------------------------





function scopeHeaderOf(scope: HttpScope | WebSocketScope, name: string): string | null {
  const values = scope.headers.filter(([key]) => key === name).map(([, value]) => value);
  return values.length === 0 ? null : values.join(', ');
}

/** The body read chunk by chunk, as the client receives it. */
async function chunksOf(response: Response): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return chunks;
    chunks.push(Buffer.from(value));
  }
}

async function bytesOf(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

// --- the inner apps, once per interface -------------------------------------------------------------

/**
 * The inner apps run under validate() too, so the contract is checked on both sides of each
 * middleware: the TestClient checks what the middleware answers, this checks what the middleware
 * hands its app (the environ or scope, the messages it yields, how it pulls and closes the body).
 */
const innerViolations: ContractViolation[] = [];
function checked<A extends AnyApp>(app: A): A {
  return validate(app, { onViolation: (violation) => innerViolations.push(violation) });
}
afterEach(() => {
  const seen = innerViolations.splice(0);
  expect(seen.map((violation) => violation.message)).toEqual([]);
});

/** What an info app saw of a request (both interfaces answer in this shape). */
interface Info {
  name: string;
  method: string;
  script: string;
  path: string;
  raw: string;
  query: string;
  scheme: string;
  host: string | null;
  body: string;
}

/** Answers with what it saw, as JSON, with `X-App: name` and its own `Vary`; records each call. */
function gatewayInfo(name: string, calls: string[] = []): GatewayApp {
  return checked((environ: Environ, startResponse: StartResponse) => {
    // A plain function: buffered input, so the synchronous read() works (docs/spec.md §3).
    const body = environ['tsgi.input'].read();
    calls.push(`${environ.REQUEST_METHOD} ${environ.SCRIPT_NAME}|${environ.PATH_INFO}`);
    const info: Info = {
      name,
      method: environ.REQUEST_METHOD,
      script: environ.SCRIPT_NAME,
      path: environ.PATH_INFO,
      raw: environ['tsgi.raw_path'],
      query: environ.QUERY_STRING,
      scheme: environ['tsgi.url_scheme'],
      host: (environ.HTTP_HOST as string | undefined) ?? null,
      body: text(body),
    };
    startResponse('200 OK', [
      ['Content-Type', 'application/json'],
      ['X-App', name],
      ['Vary', 'Accept-Language'],
    ]);
    return [JSON.stringify(info)];
  });
}

/**
 * The same as an event app. Websockets: accepts, sends what it saw as JSON, then echoes text until
 * the client leaves. Lifespan: it speaks none (returns at once, as an http-only app does).
 */
function eventInfo(name: string, calls: string[] = []): EventApp {
  return checked(defineEventApp(async (scope, receive, send) => {
    if (scope.type === 'lifespan') return;
    const seen = {
      name,
      script: scope.root_path,
      path: scope.path,
      raw: scope.raw_path,
      query: scope.query_string,
      scheme: scope.scheme,
      host: scopeHeaderOf(scope, 'host'),
    };
    if (scope.type === 'websocket') {
      calls.push(`WS ${scope.root_path}|${scope.path}`);
      await receive(); // websocket.connect
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: JSON.stringify(seen) });
      for (;;) {
        const message = await receive();
        if (message.type === 'websocket.disconnect') return;
        if (message.type === 'websocket.receive' && message.text !== undefined) await send({ type: 'websocket.send', text: `echo ${message.text}` });
      }
    }
    calls.push(`${scope.method} ${scope.root_path}|${scope.path}`);
    const body = await readAll(receive);
    const info: Info = { ...seen, method: scope.method, body: text(body) };
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [
        ['content-type', 'application/json'],
        ['x-app', name],
        ['vary', 'Accept-Language'],
      ],
    });
    await send({ type: 'http.response.body', body: JSON.stringify(info) });
  }));
}

function infoApp(kind: Kind, name: string, calls: string[] = []): AnyApp {
  return kind === 'gateway' ? gatewayInfo(name, calls) : eventInfo(name, calls);
}

async function infoOf(response: Response): Promise<Info> {
  expect(response.status).toBe(200);
  return (await response.json()) as Info;
}

/** What a streaming app did: chunks produced, and how its response ended. */
interface StreamRecord {
  produced: number;
  /** Gateway: 'closed' each time close() ran. Event: 'finished' or 'stopped' (a send() rejected). */
  ended: Signal;
  closes: number;
}

function newRecord(): StreamRecord {
  return { produced: 0, ended: new Signal(), closes: 0 };
}

/**
 * A streamed response of `count` chunks made by `chunk(i)`, produced one at a time as the host
 * pulls (gateway: a lazy iterator with close(); event: one awaited send() per chunk).
 */
function streamingApp(kind: Kind, count: number, record: StreamRecord, chunk: (i: number) => string, headers: [string, string][] = [['Content-Type', 'text/plain; charset=utf-8']]): AnyApp {
  if (kind === 'gateway') {
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', headers);
      let i = 0;
      const iterator: Iterator<string> = {
        next: () => {
          if (i >= count) return { done: true, value: undefined };
          record.produced++;
          return { done: false, value: chunk(i++) };
        },
      };
      return {
        [Symbol.iterator]: () => iterator,
        close: () => {
          record.closes++;
          record.ended.push('closed');
        },
      };
    };
    return checked(app);
  }
  return checked(defineEventApp(async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: headers.map(([name, value]) => [name.toLowerCase(), value]) });
    try {
      for (let i = 0; i < count; i++) {
        record.produced++;
        await send({ type: 'http.response.body', body: chunk(i), more_body: i < count - 1 });
      }
      record.closes++;
      record.ended.push('finished');
    } catch {
      record.closes++;
      record.ended.push('stopped');
    }
  }));
}

/** A response whose whole body is known: an array (gateway) or a single body message (event). */
function wholeApp(kind: Kind, body: string | Uint8Array, headers: [string, string][], status = 200): AnyApp {
  if (kind === 'gateway') {
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse(`${status} ${status === 200 ? 'OK' : 'Other'}`, headers);
      return [body];
    };
    return checked(app);
  }
  return checked(defineEventApp(async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status, headers: headers.map(([name, value]) => [name.toLowerCase(), value]) });
    await send({ type: 'http.response.body', body });
  }));
}

/** An event app with a lifespan: puts `key` in the state at startup, logs its shutdown. */
function withLifespan(key: string, log: string[], fail?: string): EventApp {
  return checked(defineEventApp(async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const message = await receive();
        if (message.type === 'lifespan.startup') {
          if (fail !== undefined) {
            await send({ type: 'lifespan.startup.failed', message: fail });
            return;
          }
          scope.state[key] = true;
          await send({ type: 'lifespan.startup.complete' });
        } else if (message.type === 'lifespan.shutdown') {
          log.push(key);
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    if (scope.type !== 'http') return;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body: JSON.stringify({ key, state: Object.keys(scope.state).sort() }) });
  }));
}

/** Apps that break the contract: a gateway app returning a bare string, an event app sending a string status. */
const brokenApps: Record<Kind, AnyApp> = {
  gateway: ((_environ: Environ, startResponse: StartResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return 'a bare string, not a list of chunks';
  }) as unknown as GatewayApp,
  event: defineEventApp(async (_scope, _receive, send) => {
    await send({ type: 'http.response.start', status: '200' as unknown as number });
    await send({ type: 'http.response.body', body: 'x' });
  }),
};
const BROKEN_RULE: Record<Kind, string> = { gateway: 'app.return', event: 'response-start.status' };

// --- a directory to serve ---------------------------------------------------------------------------

let base = '';
let root = '';
const HELLO = 'hello, world\n';
const CSS = 'body { color: rebeccapurple; margin: 0 auto; }\n'.repeat(40);
const BIG = Buffer.alloc(200_000, 0).map((_, i) => (i * 7) % 251);
/** Text larger than one 64 KiB read: staticFiles streams it. */
const BIG_TEXT = Array.from({ length: 4000 }, (_, i) => `line ${i} of a large text file\n`).join('');

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgi-in-process-'));
  root = path.join(base, 'public');
  fs.mkdirSync(path.join(root, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(root, 'hello.txt'), HELLO);
  fs.writeFileSync(path.join(root, 'style.css'), CSS);
  fs.writeFileSync(path.join(root, 'style.css.gz'), zlib.gzipSync(CSS));
  fs.writeFileSync(path.join(root, 'style.css.br'), zlib.brotliCompressSync(CSS));
  fs.writeFileSync(path.join(root, 'big.bin'), BIG);
  fs.writeFileSync(path.join(root, 'big.txt'), BIG_TEXT);
  fs.writeFileSync(path.join(root, 'empty.txt'), '');
  fs.writeFileSync(path.join(root, 'dir', 'index.html'), '<h1>index</h1>\n');
  fs.writeFileSync(path.join(root, '.secret'), 'hidden');
  fs.writeFileSync(path.join(base, 'outside.txt'), 'outside the root');
  fs.symlinkSync(path.join(base, 'outside.txt'), path.join(root, 'escape.txt'));
});

afterAll(() => {
  if (base !== '') fs.rmSync(base, { recursive: true, force: true });
});

// === mount ===========================================================================================

const routingCases: Array<[target: string, name: string, script: string, path: string, raw: string]> = [
  ['/', 'root', '', '/', '/'],
  ['/admin', 'admin', '/admin', '', ''],
  ['/admin/', 'admin', '/admin', '/', '/'],
  ['/admin/x/y', 'admin', '/admin', '/x/y', '/x/y'],
  ['/administrator', 'root', '', '/administrator', '/administrator'],
  ['/api/v2/users', 'v2', '/api/v2', '/users', '/users'],
  ['/api/v1/users', 'api', '/api', '/v1/users', '/v1/users'],
  ['/admin/a%2Fb', 'admin', '/admin', '/a/b', '/a%2Fb'],
  ['/%61dmin/x%20y', 'admin', '/admin', '/x y', '/x%20y'],
  ['/api%2Fv2/users', 'v2', '/api/v2', '/users', '/users'],
];

describe.each(KINDS)('mount of %s apps through the TestClient', (kind) => {
  const app = mount(infoApp(kind, 'root'), { '/admin': infoApp(kind, 'admin'), '/api/': infoApp(kind, 'api'), '/api/v2': infoApp(kind, 'v2') });

  it('speaks the interface of the apps it mounts', () => {
    expect(isEventApp(app)).toBe(kind === 'event');
  });

  it.each(routingCases)('routes %s to %s with SCRIPT_NAME/root_path, PATH_INFO/path and the raw path cut in step', async (target, name, script, pathInfo, raw) => {
    const client = new TestClient(app);
    const info = await infoOf(await client.get(`${target}?q=1`));
    expect({ name: info.name, script: info.script, path: info.path, raw: info.raw, query: info.query }).toEqual({ name, script, path: pathInfo, raw, query: 'q=1' });
    expect(client.violations).toEqual([]);
  });

  it('nests: an inner mount sees the outer prefix in its script name', async () => {
    const inner = mount(infoApp(kind, 'inner-root'), { '/b': infoApp(kind, 'b') });
    const client = new TestClient(mount(infoApp(kind, 'root'), { '/a': inner }));
    expect(await infoOf(await client.get('/a/b/c'))).toMatchObject({ name: 'b', script: '/a/b', path: '/c', raw: '/c' });
    expect(await infoOf(await client.get('/a/c'))).toMatchObject({ name: 'inner-root', script: '/a', path: '/c', raw: '/c' });
  });

  it('hands the request body and the method to the mounted app', async () => {
    const client = new TestClient(app);
    expect(await infoOf(await client.post('/admin/form', { body: 'a=1&b=2' }))).toMatchObject({ name: 'admin', method: 'POST', body: 'a=1&b=2' });
  });

  it('reads the body whole for a buffered gateway app in a streaming mount, and answers 413 past maxBodySize', async () => {
    // The fallback streams (an async gateway app, or an event app), the mounted app is buffered:
    // the mount streams and buffers for it (gateway), or bridges it (event mount).
    const streamEcho: AnyApp = checked(
      kind === 'gateway'
        ? async (environ: Environ, startResponse: StartResponse) => {
            let body = '';
            for await (const chunk of environ['tsgi.input']) body += text(chunk);
            startResponse('200 OK', [['Content-Type', 'text/plain']]);
            return [`stream:${body}`];
          }
        : defineEventApp(async (scope, receive, send) => {
            if (scope.type !== 'http') return;
            const body = await readAll(receive);
            await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
            await send({ type: 'http.response.body', body: `stream:${text(body)}` });
          }),
    );
    const bufferedEcho: GatewayApp = checked((environ: Environ, startResponse: StartResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`buffered:${text(environ['tsgi.input'].read())}`];
    });
    const mixed = mount(streamEcho, { '/buffered': bufferedEcho }, { maxBodySize: 100 });
    if (kind === 'gateway') expect((mixed as { tsgiInput?: string }).tsgiInput).toBe('stream');
    const client = new TestClient(mixed);
    expect(await (await client.post('/buffered', { body: 'hello' })).text()).toBe('buffered:hello');
    const body = upload();
    body.push('x'.repeat(60));
    body.push('y'.repeat(60));
    body.end();
    expect(await (await client.post('/', { body: body.stream })).text()).toBe(`stream:${'x'.repeat(60)}${'y'.repeat(60)}`);
    const declared = await client.post('/buffered', { body: 'z'.repeat(101) });
    expect(declared.status).toBe(413);
    const chunked = upload();
    chunked.push('z'.repeat(60));
    chunked.push('z'.repeat(60));
    chunked.end();
    expect((await client.post('/buffered', { body: chunked.stream })).status).toBe(413);
  });

  it('routes websockets by prefix with root_path, path and raw_path (the mount becomes an event app)', async () => {
    const calls: string[] = [];
    const routed = mount(infoApp(kind, 'root', calls), { '/chat': eventInfo('chat', calls) });
    expect(isEventApp(routed)).toBe(true);
    const client = new TestClient(routed);
    const ws = await client.websocket('/chat/room%201');
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ name: 'chat', script: '/chat', path: '/room 1', raw: '/room%201', scheme: 'ws' });
    ws.send('hi');
    expect(await ws.receiveText()).toBe('echo hi');
    await ws.close();
    if (kind === 'gateway') {
      // A gateway fallback cannot take a websocket: the bridge refuses it, the client sees 403.
      const refused = await client.websocket('/elsewhere').catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(WebSocketRefused);
      expect((refused as WebSocketRefused).status).toBe(403);
    } else {
      const root = await client.websocket('/elsewhere');
      expect(JSON.parse(await root.receiveText())).toMatchObject({ name: 'root', script: '', path: '/elsewhere' });
      await root.close();
    }
    // HTTP still reaches the gateway fallback through the bridge.
    expect(await infoOf(await client.get('/x'))).toMatchObject({ name: 'root', path: '/x' });
    expect(calls).toContain('WS /chat|/room 1');
  });

  it('fans lifespan out to every mounted event app, sharing one state, and skips apps without lifespan', async () => {
    const log: string[] = [];
    const fallback = kind === 'gateway' ? gatewayInfo('root') : withLifespan('root', log);
    const app = mount(fallback, { '/a': withLifespan('a', log), '/b': withLifespan('b', log), '/plain': eventInfo('plain'), '/gw': gatewayInfo('gw') });
    const client = await TestClient.start(app);
    const keys = kind === 'gateway' ? ['a', 'b'] : ['a', 'b', 'root'];
    expect(await (await client.get('/a/x')).json()).toEqual({ key: 'a', state: keys });
    expect(await (await client.get('/b')).json()).toEqual({ key: 'b', state: keys });
    expect(await infoOf(await client.get('/gw/y'))).toMatchObject({ name: 'gw', script: '/gw', path: '/y' });
    expect(log).toEqual([]);
    await client.close();
    expect(log.sort()).toEqual(keys);
    expect(client.violations).toEqual([]);
  });

  it("fails startup when one mounted app fails it, with that app's message", async () => {
    const fallback = kind === 'gateway' ? gatewayInfo('root') : withLifespan('root', []);
    const app = mount(fallback, { '/a': withLifespan('a', [], 'database unreachable'), '/b': withLifespan('b', []) });
    const error = await TestClient.start(app).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LifespanError);
    expect((error as Error).message).toMatch(/database unreachable/);
  });
});

describe('mount of event apps that speak no lifespan', () => {
  it('lets the client go on without lifespan (auto), as the server does', async () => {
    const client = await TestClient.start(mount(eventInfo('root'), { '/x': eventInfo('x') }));
    expect(await infoOf(await client.get('/x/y'))).toMatchObject({ name: 'x', path: '/y' });
    await client.close();
    expect(client.violations).toEqual([]);
  });
});

// === staticFiles =====================================================================================

describe.each(KINDS)('staticFiles around a %s app through the TestClient', (kind) => {
  const calls: string[] = [];
  const app = (): AnyApp => staticFiles(infoApp(kind, 'inner', calls), { root });

  it('keeps the interface of the app it wraps', () => {
    expect(isEventApp(app())).toBe(kind === 'event');
  });

  it('serves a file with its type, length and validators; HEAD gets the same head and no body', async () => {
    const client = new TestClient(app());
    const response = await client.get('/hello.txt');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(response.headers.get('content-length')).toBe(String(HELLO.length));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(response.headers.get('last-modified')).toMatch(/GMT$/);
    expect(response.headers.get('cache-control')).toBe('public, max-age=0');
    expect(await response.text()).toBe(HELLO);
    const head = await client.head('/hello.txt');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(HELLO.length));
    expect(head.headers.get('etag')).toBe(response.headers.get('etag'));
    expect(await head.text()).toBe('');
    const empty = await client.get('/empty.txt', { headers: { range: 'bytes=0-1' } });
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-length')).toBe('0');
    expect(await empty.text()).toBe('');
    expect(client.violations).toEqual([]);
  });

  it('answers 304 to a matching If-None-Match or If-Modified-Since, with validators and no body', async () => {
    const client = new TestClient(app());
    const first = await client.get('/hello.txt');
    const etag = first.headers.get('etag')!;
    const lastModified = first.headers.get('last-modified')!;
    await first.arrayBuffer();
    const byTag = await client.get('/hello.txt', { headers: { 'if-none-match': etag } });
    expect(byTag.status).toBe(304);
    expect(byTag.headers.get('etag')).toBe(etag);
    expect(byTag.headers.get('content-length')).toBeNull();
    expect(byTag.body).toBeNull();
    const byDate = await client.get('/hello.txt', { headers: { 'if-modified-since': lastModified } });
    expect(byDate.status).toBe(304);
    const changed = await client.get('/hello.txt', { headers: { 'if-none-match': '"something-else"' } });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe(HELLO);
  });

  it('answers a single range with 206 and Content-Range, and an unsatisfiable one with 416', async () => {
    const client = new TestClient(app());
    const partial = await client.get('/hello.txt', { headers: { range: 'bytes=7-11' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe(`bytes 7-11/${HELLO.length}`);
    expect(partial.headers.get('content-length')).toBe('5');
    expect(await partial.text()).toBe('world');
    const suffix = await client.get('/hello.txt', { headers: { range: 'bytes=-6' } });
    expect(suffix.status).toBe(206);
    expect(await suffix.text()).toBe('world\n');
    const unsatisfiable = await client.get('/hello.txt', { headers: { range: 'bytes=100-' } });
    expect(unsatisfiable.status).toBe(416);
    expect(unsatisfiable.headers.get('content-range')).toBe(`bytes */${HELLO.length}`);
    expect(await unsatisfiable.text()).toBe('Range Not Satisfiable');
    // A range far into a large file is read from there, not from the start.
    const deep = await client.get('/big.bin', { headers: { range: 'bytes=150000-150009' } });
    expect(deep.status).toBe(206);
    expect([...(await bytesOf(deep))]).toEqual([...BIG.subarray(150_000, 150_010)]);
    expect(client.violations).toEqual([]);
  });

  it('serves the precompressed sibling the client accepts, with the original type and Vary: Accept-Encoding', async () => {
    const client = new TestClient(app());
    const br = await client.get('/style.css', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(zlib.brotliDecompressSync(await bytesOf(br)).toString()).toBe(CSS);
    const gzip = await client.get('/style.css', { headers: { 'accept-encoding': 'gzip' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(await bytesOf(gzip)).toString()).toBe(CSS);
    expect(gzip.headers.get('etag')).not.toBe(br.headers.get('etag'));
    // No Accept-Encoding: the file itself, but still varying, so a cache keeps them apart.
    const identity = await client.get('/style.css');
    expect(identity.headers.get('content-encoding')).toBeNull();
    expect(identity.headers.get('vary')).toBe('Accept-Encoding');
    expect(await identity.text()).toBe(CSS);
    expect(client.violations).toEqual([]);
  });

  it('streams a large file chunk by chunk, byte for byte', async () => {
    const client = new TestClient(app());
    const response = await client.get('/big.bin');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('content-length')).toBe(String(BIG.byteLength));
    const chunks = await chunksOf(response);
    // Read 64 KiB at a time, never the whole file at once.
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    expect(Math.max(...chunks.map((chunk) => chunk.byteLength))).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.concat(chunks).equals(BIG)).toBe(true);
    expect(client.violations).toEqual([]);
  });

  it('stops reading a large file when the client stops, and serves the next request', async () => {
    const client = new TestClient(app());
    const reader = (await client.get('/big.bin')).body!.getReader();
    const first = (await reader.read()).value!;
    expect([...first.subarray(0, 8)]).toEqual([...BIG.subarray(0, 8)]);
    await reader.cancel();
    expect(await (await client.get('/hello.txt')).text()).toBe(HELLO);
    expect(client.violations).toEqual([]);
  });

  it('answers 404 to traversal and to symlinks out of the root, without asking the app', async () => {
    const client = new TestClient(app());
    const before = calls.length;
    for (const target of ['/../outside.txt', '/dir/../../outside.txt', '/..%2foutside.txt', '/%2e%2e/outside.txt', '/dir%5c..%5c..%5coutside.txt', '/escape.txt']) {
      const response = await client.get(target);
      expect(response.status, target).toBe(404);
      expect(await response.text()).toBe('Not Found');
    }
    expect(calls.length).toBe(before);
  });

  it('falls through to the app for missing files, dotfiles and other methods', async () => {
    const client = new TestClient(app());
    expect(await infoOf(await client.get('/missing.txt'))).toMatchObject({ name: 'inner', method: 'GET', path: '/missing.txt' });
    expect(await infoOf(await client.get('/.secret'))).toMatchObject({ name: 'inner', path: '/.secret' });
    expect(await infoOf(await client.post('/hello.txt', { body: 'posted' }))).toMatchObject({ name: 'inner', method: 'POST', body: 'posted' });
    expect(await infoOf(await client.get('/hello.txt/'))).toMatchObject({ name: 'inner', path: '/hello.txt/' });
  });

  it('serves the index of a directory and redirects to the slash, from the mount point when mounted', async () => {
    const client = new TestClient(app());
    const index = await client.get('/dir/');
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await index.text()).toBe('<h1>index</h1>\n');
    const redirect = await client.get('/dir?x=1');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/dir/?x=1');
    const mounted = new TestClient(mount(infoApp(kind, 'site'), { '/static': app() }));
    const below = await mounted.get('/static/dir');
    expect(below.status).toBe(301);
    expect(below.headers.get('location')).toBe('/static/dir/');
    expect(await (await mounted.get('/static/hello.txt')).text()).toBe(HELLO);
    expect(await infoOf(await mounted.get('/static/nothing'))).toMatchObject({ name: 'inner', script: '/static', path: '/nothing' });
    expect(await infoOf(await mounted.get('/other'))).toMatchObject({ name: 'site' });
  });
});

describe('staticFiles around an event app: websockets and lifespan', () => {
  it('passes a websocket to the app untouched, even for the name of a file', async () => {
    const client = new TestClient(staticFiles(eventInfo('inner'), { root }));
    const ws = await client.websocket('/hello.txt');
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ name: 'inner', path: '/hello.txt' });
    await ws.close();
  });

  it('passes the lifespan to the app', async () => {
    const log: string[] = [];
    const client = await TestClient.start(staticFiles(withLifespan('app', log), { root }));
    expect(await (await client.get('/not-a-file')).json()).toEqual({ key: 'app', state: ['app'] });
    expect(await (await client.get('/hello.txt')).text()).toBe(HELLO);
    await client.close();
    expect(log).toEqual(['app']);
  });
});

// === cors ============================================================================================

const PREFLIGHT = { origin: 'https://a.test', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'X-Token, Content-Type' };

describe.each(KINDS)('cors around a %s app through the TestClient', (kind) => {
  it('answers a preflight itself with 204 and the allow headers (default options); the app never sees it', async () => {
    const calls: string[] = [];
    const client = new TestClient(cors(infoApp(kind, 'inner', calls)));
    const response = await client.options('/things', { headers: PREFLIGHT });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, PUT, PATCH, POST, DELETE');
    expect(response.headers.get('access-control-allow-headers')).toBe('X-Token, Content-Type');
    expect(response.headers.get('vary')).toBe('Access-Control-Request-Method, Access-Control-Request-Headers');
    expect(response.body).toBeNull();
    expect(calls).toEqual([]);
    expect(client.violations).toEqual([]);
  });

  it("adds Access-Control-Allow-Origin: * to the app's response for any origin, and nothing without Origin", async () => {
    const client = new TestClient(cors(infoApp(kind, 'inner')));
    const response = await client.get('/x', { headers: { origin: 'https://anyone.test' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('vary')).toBe('Accept-Language');
    expect(await infoOf(response)).toMatchObject({ name: 'inner', path: '/x' });
    const plain = await client.get('/x');
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('passes an OPTIONS request that is not a preflight, and a POST with its body, to the app', async () => {
    const client = new TestClient(cors(infoApp(kind, 'inner')));
    expect(await infoOf(await client.options('/x', { headers: { origin: 'https://a.test' } }))).toMatchObject({ method: 'OPTIONS' });
    const posted = await client.post('/x', { body: 'payload', headers: { origin: 'https://a.test' } });
    expect(posted.headers.get('access-control-allow-origin')).toBe('*');
    expect(await infoOf(posted)).toMatchObject({ method: 'POST', body: 'payload' });
  });

  describe('with a list of origins, credentials and exposed headers', () => {
    const options = { origin: ['https://a.test'], credentials: true, exposeHeaders: ['X-App'], methods: ['GET', 'POST'], allowHeaders: ['X-Token'], maxAge: 600 };

    it('answers an allowed preflight with the origin echoed, credentials, max-age and the header list', async () => {
      const client = new TestClient(cors(infoApp(kind, 'inner'), options));
      const response = await client.options('/x', { headers: { ...PREFLIGHT, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-token' } });
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://a.test');
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
      expect(response.headers.get('access-control-allow-headers')).toBe('X-Token, Accept, Accept-Language, Content-Language, Content-Type');
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('vary')).toBe('Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
      expect(client.violations).toEqual([]);
    });

    it('refuses a preflight from another origin or for another method with 403, naming what was refused', async () => {
      const calls: string[] = [];
      const client = new TestClient(cors(infoApp(kind, 'inner', calls), options));
      const origin = await client.options('/x', { headers: { ...PREFLIGHT, origin: 'https://evil.test', 'access-control-request-method': 'GET', 'access-control-request-headers': '' } });
      expect(origin.status).toBe(403);
      expect(origin.headers.get('access-control-allow-origin')).toBeNull();
      expect(await origin.text()).toBe('Disallowed CORS origin');
      const method = await client.options('/x', { headers: { ...PREFLIGHT, 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'x-token' } });
      expect(method.status).toBe(403);
      expect(await method.text()).toBe('Disallowed CORS method');
      expect(calls).toEqual([]);
    });

    it("adds the echoed origin, credentials and exposed headers to the app's response, and merges Vary", async () => {
      const client = new TestClient(cors(infoApp(kind, 'inner'), options));
      const response = await client.get('/x', { headers: { origin: 'https://a.test' } });
      expect(response.headers.get('access-control-allow-origin')).toBe('https://a.test');
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-expose-headers')).toBe('X-App');
      expect(response.headers.get('vary')).toBe('Accept-Language, Origin');
      expect(await infoOf(response)).toMatchObject({ name: 'inner' });
      const other = await client.get('/x', { headers: { origin: 'https://evil.test' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(other.headers.get('vary')).toBe('Accept-Language, Origin');
      const none = await client.get('/x');
      expect(none.headers.get('vary')).toBe('Accept-Language, Origin');
      expect(client.violations).toEqual([]);
    });
  });

  it('passes a streamed body through chunk by chunk, pulled as the client reads, and ends it once', async () => {
    const record = newRecord();
    const client = new TestClient(cors(streamingApp(kind, 10, record, (i) => `chunk ${i}\n`), { origin: 'https://a.test' }));
    const response = await client.get('/stream', { headers: { origin: 'https://a.test' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://a.test');
    expect(response.headers.get('vary')).toBe('Origin');
    const reader = response.body!.getReader();
    expect(text((await reader.read()).value)).toBe('chunk 0\n');
    expect(text((await reader.read()).value)).toBe('chunk 1\n');
    // Nothing is produced far ahead of the reader.
    expect(record.produced).toBeLessThanOrEqual(3);
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += text(value);
    }
    expect(rest).toBe(Array.from({ length: 8 }, (_, i) => `chunk ${i + 2}\n`).join(''));
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'finished');
    expect(record.closes).toBe(1);
    expect(client.violations).toEqual([]);
  });
});

describe('cors around an event app: websockets and lifespan', () => {
  it('passes a websocket through untouched, whatever its Origin', async () => {
    const client = new TestClient(cors(eventInfo('inner'), { origin: 'https://a.test' }));
    const ws = await client.websocket('/live', { headers: { origin: 'https://evil.test' } });
    expect(ws.headers.get('access-control-allow-origin')).toBeNull();
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ name: 'inner', path: '/live' });
    await ws.close();
  });

  it('passes the lifespan to the app', async () => {
    const log: string[] = [];
    const client = await TestClient.start(cors(withLifespan('app', log)));
    expect(await (await client.get('/')).json()).toEqual({ key: 'app', state: ['app'] });
    await client.close();
    expect(log).toEqual(['app']);
  });
});

// === trustedHosts ====================================================================================

describe.each(KINDS)('trustedHosts around a %s app through the TestClient', (kind) => {
  it('lets the listed hosts through, whatever their case, port or trailing dot', async () => {
    const app = trustedHosts(infoApp(kind, 'inner'), ['example.com', '*.example.org']);
    for (const baseUrl of ['http://example.com', 'http://example.com:8080', 'https://api.example.org', 'http://a.b.example.org']) {
      const info = await infoOf(await new TestClient(app, { baseUrl }).get('/x'));
      expect(info.name, baseUrl).toBe('inner');
    }
    const spelled = await new TestClient(app).get('/x', { headers: { host: 'EXAMPLE.com.' } });
    expect(await infoOf(spelled)).toMatchObject({ host: 'EXAMPLE.com.' });
  });

  it('refuses any other host with 400 and a plain-text body; the app never sees it', async () => {
    const calls: string[] = [];
    const app = trustedHosts(infoApp(kind, 'inner', calls), ['example.com', '*.example.org']);
    for (const baseUrl of ['http://evil.test', 'http://example.org', 'http://example.com.evil.test', 'http://notexample.com']) {
      const client = new TestClient(app, { baseUrl });
      const response = await client.get('/x');
      expect(response.status, baseUrl).toBe(400);
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(await response.text()).toBe('Invalid host header');
      // A body sent with the refused request does not matter either.
      expect((await client.post('/x', { body: 'ignored' })).status).toBe(400);
      expect(client.violations).toEqual([]);
    }
    expect(calls).toEqual([]);
  });

  it("'*' lets every host through", async () => {
    const client = new TestClient(trustedHosts(infoApp(kind, 'inner'), '*'), { baseUrl: 'http://whatever.test' });
    expect(await infoOf(await client.get('/'))).toMatchObject({ host: 'whatever.test' });
  });
});

describe('trustedHosts around an event app: websockets and lifespan', () => {
  const app = (calls: string[] = []) => trustedHosts(eventInfo('inner', calls), ['example.com']);

  it('refuses a websocket from another host before accepting it (the client sees 403)', async () => {
    const calls: string[] = [];
    const error = await new TestClient(app(calls), { baseUrl: 'http://evil.test' }).websocket('/ws').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(WebSocketRefused);
    expect(error).toMatchObject({ status: 403, code: 1008, reason: 'Invalid host header' });
    expect(calls).toEqual([]);
    const ws = await new TestClient(app(calls), { baseUrl: 'http://example.com' }).websocket('/ws');
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ host: 'example.com' });
    await ws.close();
  });

  it('passes the lifespan, which has no host, to the app', async () => {
    const log: string[] = [];
    const client = await TestClient.start(trustedHosts(withLifespan('app', log), ['example.com']), { baseUrl: 'http://example.com' });
    expect(await (await client.get('/')).json()).toEqual({ key: 'app', state: ['app'] });
    await client.close();
    expect(log).toEqual(['app']);
  });
});

// === httpsRedirect ===================================================================================

describe.each(KINDS)('httpsRedirect around a %s app through the TestClient', (kind) => {
  it('redirects plain http with 308 to the same host, encoded path and query on https; the app never runs', async () => {
    const calls: string[] = [];
    const client = new TestClient(httpsRedirect(infoApp(kind, 'inner', calls)), { baseUrl: 'http://example.com' });
    const response = await client.get('/a%2Fb/caf%C3%A9?x=1&y=%20');
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('https://example.com/a%2Fb/caf%C3%A9?x=1&y=%20');
    expect(response.headers.get('content-length')).toBe('0');
    expect(await response.text()).toBe('');
    const posted = await client.post('/form', { body: 'data' });
    expect(posted.status).toBe(308);
    expect(posted.headers.get('location')).toBe('https://example.com/form');
    const head = await client.head('/h');
    expect(head.status).toBe(308);
    expect(head.headers.get('location')).toBe('https://example.com/h');
    expect(calls).toEqual([]);
    expect(client.violations).toEqual([]);
  });

  it('answers 400 instead of redirecting to a Host it cannot use', async () => {
    const client = new TestClient(httpsRedirect(infoApp(kind, 'inner')), { baseUrl: 'http://example.com' });
    for (const host of ['', 'exa mple.com', 'user@example.com']) {
      const response = await client.get('/x', { headers: { host } });
      expect(response.status, host).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toBe('Invalid host header');
    }
    expect(client.violations).toEqual([]);
  });

  it('passes https requests to the app untouched', async () => {
    const client = new TestClient(httpsRedirect(infoApp(kind, 'inner')), { baseUrl: 'https://example.com' });
    expect(await infoOf(await client.post('/x?y=1', { body: 'b' }))).toMatchObject({ scheme: 'https', path: '/x', query: 'y=1', body: 'b' });
  });

  it('keeps a non-default port, or names httpsPort; takes the status asked for', async () => {
    const port = await new TestClient(httpsRedirect(infoApp(kind, 'inner')), { baseUrl: 'http://example.com:8080' }).get('/p');
    expect(port.headers.get('location')).toBe('https://example.com:8080/p');
    const named = await new TestClient(httpsRedirect(infoApp(kind, 'inner'), { status: 301, httpsPort: 8443 }), { baseUrl: 'http://example.com:8080' }).get('/p');
    expect(named.status).toBe(301);
    expect(named.headers.get('location')).toBe('https://example.com:8443/p');
    const standard = await new TestClient(httpsRedirect(infoApp(kind, 'inner'), { status: 307, httpsPort: 443 }), { baseUrl: 'http://example.com:8080' }).get('/p');
    expect(standard.status).toBe(307);
    expect(standard.headers.get('location')).toBe('https://example.com/p');
  });

  it('keeps the mount prefix in the Location when mounted', async () => {
    const client = new TestClient(mount(infoApp(kind, 'site'), { '/app': httpsRedirect(infoApp(kind, 'inner')) }), { baseUrl: 'http://example.com' });
    const response = await client.get('/app/x%20y?q=1');
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('https://example.com/app/x%20y?q=1');
    expect(await infoOf(await client.get('/elsewhere'))).toMatchObject({ name: 'site', scheme: 'http' });
  });
});

describe('httpsRedirect around an event app: websockets and lifespan', () => {
  it('refuses a plain ws:// websocket (403) and passes a wss:// one', async () => {
    const calls: string[] = [];
    const app = httpsRedirect(eventInfo('inner', calls));
    const refused = await new TestClient(app, { baseUrl: 'http://example.com' }).websocket('/ws').catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(WebSocketRefused);
    expect((refused as WebSocketRefused).status).toBe(403);
    expect(calls).toEqual([]);
    const ws = await new TestClient(app, { baseUrl: 'https://example.com' }).websocket('/ws');
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ scheme: 'wss' });
    await ws.close();
  });

  it('passes the lifespan to the app', async () => {
    const log: string[] = [];
    const client = await TestClient.start(httpsRedirect(withLifespan('app', log)), { baseUrl: 'https://example.com' });
    expect(await (await client.get('/')).json()).toEqual({ key: 'app', state: ['app'] });
    await client.close();
    expect(log).toEqual(['app']);
  });
});

// === validate ========================================================================================

describe.each(KINDS)('validate around a %s app through the TestClient', (kind) => {
  it('is the ContractViolation the TestClient raises', () => {
    expect(MiddlewareContractViolation).toBe(ContractViolation);
  });

  it('catches a broken app: the ContractViolation reaches the test, and onViolation saw it', async () => {
    const seen: ContractViolation[] = [];
    // The client's own validator off: only the explicit validate() checks.
    const client = new TestClient(validate(brokenApps[kind], { onViolation: (violation) => seen.push(violation) }), { validate: false });
    const error = await client.get('/').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractViolation);
    expect(error).toMatchObject({ rule: BROKEN_RULE[kind], side: 'app' });
    expect((error as Error).message).toMatch(/docs\/spec\.md §/);
    expect(seen).toEqual([error]);
  });

  it("is on by default in the TestClient: the broken app fails with the same rule", async () => {
    const client = new TestClient(brokenApps[kind]);
    await expect(client.get('/')).rejects.toMatchObject({ name: 'ContractViolation', rule: BROKEN_RULE[kind] });
    expect(client.violations).toHaveLength(1);
  });

  it('lets a correct app through unchanged, streamed bodies included, even validated twice', async () => {
    const record = newRecord();
    const client = new TestClient(validate(streamingApp(kind, 5, record, (i) => `${i};`)));
    const response = await client.get('/');
    expect(await response.text()).toBe('0;1;2;3;4;');
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'finished');
    expect(record.closes).toBe(1);
    expect(await infoOf(await new TestClient(validate(infoApp(kind, 'ok'))).post('/p', { body: 'b' }))).toMatchObject({ name: 'ok', body: 'b' });
    expect(client.violations).toEqual([]);
  });

  it('catches a broken middleware: one that adds a connection-level header', async () => {
    const hopByHop = (app: AnyApp): AnyApp =>
      wrapEither(app, 'hopByHop', {
        gateway: (inner) => (environ, startResponse) => inner(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['Connection', 'close']], excInfo)),
        event: (inner) => async (scope, receive, send) =>
          inner(scope, receive, (message: SendMessage) =>
            send(message.type === 'http.response.start' ? { ...message, headers: [...(message.headers ?? []), ['connection', 'close']] } : message),
          ),
      });
    const client = new TestClient(hopByHop(infoApp(kind, 'inner')));
    const error = await client.get('/').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractViolation);
    expect((error as Error).message).toMatch(/connection/i);
  });
});

describe.each(KINDS)('the validator around the inner %s app', (kind) => {
  it('catches a middleware that hands its app a broken environ or scope (the server side of the inner contract)', async () => {
    const dropsMountPoint = (app: AnyApp): AnyApp =>
      wrapEither(app, 'dropsMountPoint', {
        // A trailing '/' in SCRIPT_NAME / root_path: PEP 3333 and §2 forbid it.
        gateway: (inner) => (environ, startResponse) => inner({ ...environ, SCRIPT_NAME: '/app/' }, startResponse),
        event: (inner) => async (scope, receive, send) => inner(scope.type === 'lifespan' ? scope : { ...scope, root_path: '/app/' }, receive, send),
      });
    const client = new TestClient(dropsMountPoint(infoApp(kind, 'inner')));
    const error = await client.get('/x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractViolation);
    expect(error).toMatchObject({ side: 'server', rule: kind === 'gateway' ? 'environ.script-name' : 'scope.root-path' });
    // Seen by the inner validator (the middleware is the "server" there), not the client's.
    expect(innerViolations.splice(0)).toEqual([error]);
  });
});

describe.each(KINDS)('a broken %s app behind each middleware', (kind) => {
  const wrappers: Array<[string, (app: AnyApp) => AnyApp, { baseUrl?: string; path?: string; headers?: Record<string, string> }]> = [
    ['mount', (app) => mount(app, { '/other': infoApp(kind, 'other') }), {}],
    ['mount (as the mounted app)', (app) => mount(infoApp(kind, 'root'), { '/broken': app }), { path: '/broken/x' }],
    ['compose', (app) => compose(app, [cors], [trustedHosts, ['testserver']]), {}],
    ['cors', (app) => cors(app, { origin: 'https://a.test' }), { headers: { origin: 'https://a.test' } }],
    ['trustedHosts', (app) => trustedHosts(app, ['testserver']), {}],
    ['httpsRedirect', (app) => httpsRedirect(app), { baseUrl: 'https://testserver' }],
    ['staticFiles', (app) => staticFiles(app, { root }), { path: '/not-a-file' }],
    ['compress', (app) => compress(app), { headers: { 'accept-encoding': 'gzip' } }],
  ];

  it.each(wrappers)('%s: the ContractViolation still reaches the test', async (_name, wrap, request) => {
    const client = new TestClient(wrap(brokenApps[kind]), request.baseUrl === undefined ? {} : { baseUrl: request.baseUrl });
    const error = await client.get(request.path ?? '/', { headers: request.headers ?? {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractViolation);
    expect(error).toMatchObject({ rule: BROKEN_RULE[kind], side: 'app' });
  });
});

// === compose =========================================================================================

/** A wrapper for either interface that tags the response head and records the order it saw requests in. */
function tag(label: string, seen: string[]) {
  return (app: AnyApp): AnyApp =>
    wrapEither(app, `tag ${label}`, {
      gateway: (inner) => (environ, startResponse) => {
        seen.push(label);
        return inner(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['X-Order', label]], excInfo));
      },
      event: (inner) => async (scope, receive, send) => {
        if (scope.type !== 'http') return inner(scope, receive, send);
        seen.push(label);
        return inner(scope, receive, (message: SendMessage) =>
          send(message.type === 'http.response.start' ? { ...message, headers: [...(message.headers ?? []), ['x-order', label]] } : message),
        );
      },
    });
}

describe.each(KINDS)('compose of middleware around a %s app through the TestClient', (kind) => {
  it('applies the wrappers in reading order: the last listed is the outermost, the first to see a request', async () => {
    const seen: string[] = [];
    const app = compose(infoApp(kind, 'root'), [mount, { '/admin': infoApp(kind, 'admin') }], tag('first', seen), tag('second', seen));
    expect(isEventApp(app)).toBe(kind === 'event');
    const response = await new TestClient(app).get('/admin/x');
    expect(seen).toEqual(['second', 'first']);
    // The innermost edits the head first, so its header comes first.
    expect(response.headers.get('x-order')).toBe('first, second');
    expect(await infoOf(response)).toMatchObject({ name: 'admin', script: '/admin', path: '/x' });
  });

  it('runs a realistic stack: hosts checked first, then CORS, then static files under a mount', async () => {
    const calls: string[] = [];
    const app = compose(
      infoApp(kind, 'site', calls),
      [mount, { '/static': staticFiles(infoApp(kind, 'assets', calls), { root }) }],
      [cors, { origin: 'https://a.test' }],
      [trustedHosts, ['example.com']],
    );
    const client = new TestClient(app, { baseUrl: 'http://example.com' });
    const file = await client.get('/static/hello.txt', { headers: { origin: 'https://a.test' } });
    expect(file.headers.get('access-control-allow-origin')).toBe('https://a.test');
    expect(file.headers.get('vary')).toBe('Origin');
    expect(await file.text()).toBe(HELLO);
    const preflight = await client.options('/static/hello.txt', { headers: { ...PREFLIGHT, 'access-control-request-method': 'GET' } });
    expect(preflight.status).toBe(204);
    expect(await infoOf(await client.get('/static/missing'))).toMatchObject({ name: 'assets', script: '/static', path: '/missing' });
    expect(await infoOf(await client.get('/page'))).toMatchObject({ name: 'site' });
    const forged = await client.get('/static/hello.txt', { headers: { host: 'evil.test', origin: 'https://a.test' } });
    expect(forged.status).toBe(400);
    expect(forged.headers.get('access-control-allow-origin')).toBeNull();
    expect(calls).toEqual(['GET /static|/missing', 'GET |/page']);
    expect(client.violations).toEqual([]);
  });

  it('the order decides: a forged host is refused before a redirect only when trustedHosts is outside', async () => {
    const hostsOutside = compose(infoApp(kind, 'inner'), [httpsRedirect], [trustedHosts, ['example.com']]);
    const redirectOutside = compose(infoApp(kind, 'inner'), [trustedHosts, ['example.com']], [httpsRedirect]);
    const options = { baseUrl: 'http://evil.test' };
    expect((await new TestClient(hostsOutside, options).get('/x')).status).toBe(400);
    const redirected = await new TestClient(redirectOutside, options).get('/x');
    expect(redirected.status).toBe(308);
    expect(redirected.headers.get('location')).toBe('https://evil.test/x');
    // Over https with a good host, both reach the app.
    for (const app of [hostsOutside, redirectOutside]) {
      expect(await infoOf(await new TestClient(app, { baseUrl: 'https://example.com' }).get('/x'))).toMatchObject({ scheme: 'https' });
    }
  });
});

// === compress ========================================================================================

const PROSE = 'tsgi compresses this sentence, and the next one as well. '.repeat(60);
/** Decodes a flushed but unfinished gzip stream: what a client can read so far. */
const gunzipSoFar = (bytes: Uint8Array): string => zlib.gunzipSync(bytes, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();

describe.each(KINDS)('compress around a %s app through the TestClient', (kind) => {
  const TEXT: [string, string][] = [['Content-Type', 'text/plain; charset=utf-8']];

  it('keeps the interface of the app it wraps', () => {
    expect(isEventApp(compress(infoApp(kind, 'x')))).toBe(kind === 'event');
  });

  it('compresses a whole body with the encoding the client prefers, with its new length and Vary', async () => {
    const client = new TestClient(compress(wholeApp(kind, PROSE, TEXT)));
    const br = await client.get('/', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    const brBytes = await bytesOf(br);
    expect(br.headers.get('content-length')).toBe(String(brBytes.byteLength));
    expect(brBytes.byteLength).toBeLessThan(PROSE.length / 4);
    expect(zlib.brotliDecompressSync(brBytes).toString()).toBe(PROSE);
    const gzip = await client.get('/', { headers: { 'accept-encoding': 'br;q=0.5, gzip' } });
    expect(gzip.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(await bytesOf(gzip)).toString()).toBe(PROSE);
    // A client that accepts no encoding gets the body as it is, but a cache must still know it varies.
    const refusals: Record<string, string>[] = [{}, { 'accept-encoding': 'identity' }, { 'accept-encoding': 'gzip;q=0, br;q=0' }];
    for (const headers of refusals) {
      const plain = await client.get('/', { headers });
      expect(plain.headers.get('content-encoding')).toBeNull();
      expect(plain.headers.get('vary')).toBe('Accept-Encoding');
      expect(plain.headers.get('content-length')).toBe(String(PROSE.length));
      expect(await plain.text()).toBe(PROSE);
    }
    expect(client.violations).toEqual([]);
  });

  it('offers only the encodings it is given, in its order of preference', async () => {
    const client = new TestClient(compress(wholeApp(kind, PROSE, TEXT), { encodings: ['gzip', 'br'] }));
    expect((await client.get('/', { headers: { 'accept-encoding': 'br, gzip' } })).headers.get('content-encoding')).toBe('gzip');
    const onlyGzip = new TestClient(compress(wholeApp(kind, PROSE, TEXT), { encodings: ['gzip'] }));
    expect((await onlyGzip.get('/', { headers: { 'accept-encoding': 'br' } })).headers.get('content-encoding')).toBeNull();
  });

  it('leaves a body below minSize alone, without Vary', async () => {
    const client = new TestClient(compress(wholeApp(kind, 'tiny body', TEXT)));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip, br' } });
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('vary')).toBeNull();
    expect(await response.text()).toBe('tiny body');
    const lowered = new TestClient(compress(wholeApp(kind, 'tiny body', TEXT), { minSize: 4 }));
    const compressed = await lowered.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(compressed.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(await bytesOf(compressed)).toString()).toBe('tiny body');
  });

  it('leaves alone what must not be compressed: other types, encoded bodies, no-transform, HEAD, Range, 204', async () => {
    const cases: Array<[string, AnyApp, Record<string, string>, 'GET' | 'HEAD']> = [
      ['image', wholeApp(kind, PROSE, [['Content-Type', 'image/png']]), {}, 'GET'],
      ['no type', wholeApp(kind, PROSE, []), {}, 'GET'],
      ['encoded', wholeApp(kind, zlib.gzipSync(PROSE), [...TEXT, ['Content-Encoding', 'gzip']]), {}, 'GET'],
      ['no-transform', wholeApp(kind, PROSE, [...TEXT, ['Cache-Control', 'no-transform']]), {}, 'GET'],
      ['range', wholeApp(kind, PROSE, TEXT), { range: 'bytes=0-9' }, 'GET'],
      ['head', wholeApp(kind, PROSE, TEXT), {}, 'HEAD'],
      ['no content', wholeApp(kind, '', TEXT, 204), {}, 'GET'],
    ];
    for (const [label, app, headers, method] of cases) {
      const client = new TestClient(compress(app));
      const response = await client.fetch('/', { method, headers: { ...headers, 'accept-encoding': 'gzip, br' } });
      expect(response.headers.get('content-encoding'), label).toBe(label === 'encoded' ? 'gzip' : null);
      expect(response.headers.get('vary'), label).toBeNull();
      if (label === 'image' || label === 'no type' || label === 'no-transform' || label === 'range') expect(await response.text(), label).toBe(PROSE);
      if (label === 'head') expect(response.headers.get('content-length')).toBe(String(PROSE.length));
      expect(client.violations, label).toEqual([]);
    }
  });

  it('weakens a strong ETag on the compressed response, whose bytes differ', async () => {
    const client = new TestClient(compress(wholeApp(kind, PROSE, [...TEXT, ['ETag', '"v1"']])));
    expect((await client.get('/', { headers: { 'accept-encoding': 'gzip' } })).headers.get('etag')).toBe('W/"v1"');
    expect((await client.get('/')).headers.get('etag')).toBe('"v1"');
  });

  it('compresses a streamed body chunk by chunk as the client reads it, each piece decodable at once, and ends the app once', async () => {
    const record = newRecord();
    const line = (i: number) => `line ${i}: ${'streamed text '.repeat(20)}\n`;
    const client = new TestClient(compress(streamingApp(kind, 30, record, line)));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('content-length')).toBeNull();
    expect(response.headers.get('vary')).toBe('Accept-Encoding');
    const reader = response.body!.getReader();
    const pieces: Uint8Array[] = [];
    // The first chunk reaches the client flushed, before the app made the rest.
    while (!gunzipSoFar(Buffer.concat(pieces)).includes('line 1:')) pieces.push((await reader.read()).value!);
    expect(gunzipSoFar(Buffer.concat(pieces))).toBe(line(0) + line(1));
    expect(record.produced).toBeLessThanOrEqual(4);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pieces.push(value);
    }
    expect(zlib.gunzipSync(Buffer.concat(pieces)).toString()).toBe(Array.from({ length: 30 }, (_, i) => line(i)).join(''));
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'finished');
    expect(record.closes).toBe(1);
    expect(client.violations).toEqual([]);
  });

  it('stops a streamed body when the client stops reading, ending the app once', async () => {
    const record = newRecord();
    const client = new TestClient(compress(streamingApp(kind, 1000, record, (i) => `${i} ${'x'.repeat(100)}\n`)));
    const response = await client.get('/', { headers: { 'accept-encoding': 'br' } });
    expect(response.headers.get('content-encoding')).toBe('br');
    const reader = response.body!.getReader();
    await reader.read();
    await reader.read();
    await reader.cancel();
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'stopped');
    expect(record.closes).toBe(1);
    expect(record.produced).toBeLessThan(1000);
    expect(client.violations).toEqual([]);
  });

  it('passes a streamed body on as it is, with Vary, to a client that accepts no encoding', async () => {
    const record = newRecord();
    const client = new TestClient(compress(streamingApp(kind, 5, record, (i) => `${i};`)));
    const response = await client.get('/');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(response.headers.get('vary')).toBe('Accept-Encoding');
    expect(await response.text()).toBe('0;1;2;3;4;');
    expect(client.violations).toEqual([]);
  });

  it('compresses the files staticFiles serves, small and large, and leaves its precompressed siblings alone', async () => {
    const onTheFly = new TestClient(compose(infoApp(kind, 'inner'), [staticFiles, { root, precompressed: false }], [compress]));
    for (const [file, content] of [['/style.css', CSS], ['/big.txt', BIG_TEXT]] as const) {
      const response = await onTheFly.get(file, { headers: { 'accept-encoding': 'br' } });
      expect(response.headers.get('content-encoding'), file).toBe('br');
      expect(response.headers.get('etag'), file).toMatch(/^W\/"/);
      const bytes = await bytesOf(response);
      // Whole (with the compressed length) or streamed (no length): never the file's own length.
      const length = response.headers.get('content-length');
      if (length !== null) expect(Number(length), file).toBe(bytes.byteLength);
      expect(zlib.brotliDecompressSync(bytes).toString(), file).toBe(content);
    }
    const precompressed = new TestClient(compose(infoApp(kind, 'inner'), [staticFiles, { root }], [compress]));
    const sibling = await precompressed.get('/style.css', { headers: { 'accept-encoding': 'gzip' } });
    expect(sibling.headers.get('content-encoding')).toBe('gzip');
    expect(sibling.headers.get('vary')).toBe('Accept-Encoding');
    expect(zlib.gunzipSync(await bytesOf(sibling)).toString()).toBe(CSS);
    // Range requests keep their byte offsets on the file itself.
    const partial = await precompressed.get('/style.css', { headers: { 'accept-encoding': 'gzip', range: 'bytes=0-3' } });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-encoding')).toBe('gzip');
    expect(onTheFly.violations).toEqual([]);
    expect(precompressed.violations).toEqual([]);
  });
});

describe('compress around a gateway app: write(), a lazy startResponse and excInfo', () => {
  const TEXT: [string, string][] = [['Content-Type', 'text/plain; charset=utf-8']];

  it('compresses what the legacy write() sent, in order before the returned body', async () => {
    const app = checked((_environ: Environ, startResponse: StartResponse) => {
      const write = startResponse('200 OK', TEXT);
      write(PROSE);
      write('-- written --');
      return ['-- returned --'];
    });
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(zlib.gunzipSync(await bytesOf(response)).toString()).toBe(`${PROSE}-- written ---- returned --`);
    expect(client.violations).toEqual([]);
  });

  it('compresses a generator that calls startResponse in its first step', async () => {
    const app = checked((_environ: Environ, startResponse: StartResponse) =>
      (function* lazy() {
        startResponse('200 OK', TEXT);
        yield PROSE;
        yield 'end';
      })(),
    );
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'br' } });
    expect(response.headers.get('content-encoding')).toBe('br');
    expect(zlib.brotliDecompressSync(await bytesOf(response)).toString()).toBe(`${PROSE}end`);
    expect(client.violations).toEqual([]);
  });

  it('lets a second startResponse with excInfo replace the head before the body, and judges the new one', async () => {
    const app = checked((_environ: Environ, startResponse: StartResponse) => {
      startResponse('200 OK', TEXT);
      startResponse('503 Service Unavailable', [['Content-Type', 'image/png'], ['Retry-After', '1']], new Error('changed my mind'));
      return [PROSE];
    });
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('1');
    expect(response.headers.get('content-encoding')).toBeNull();
    expect(await response.text()).toBe(PROSE);
    expect(client.violations).toEqual([]);
  });
});

describe('compress: bodies with close() and sends not awaited', () => {
  it("compresses an array body that has a close(), and calls it once", async () => {
    let closes = 0;
    const app = checked((_environ: Environ, startResponse: StartResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return Object.assign([PROSE], { close: () => void closes++ });
    });
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(zlib.gunzipSync(await bytesOf(response)).toString()).toBe(PROSE);
    expect(closes).toBe(1);
    expect(client.violations).toEqual([]);
  });

  it('keeps the order of body messages an event app sends without awaiting each', async () => {
    const app = checked(
      defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        const sent = [
          send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] }),
          send({ type: 'http.response.body', body: `one ${PROSE}`, more_body: true }),
          send({ type: 'http.response.body', body: 'two ', more_body: true }),
          send({ type: 'http.response.body', body: 'three' }),
        ];
        await Promise.all(sent);
      }),
    );
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(zlib.gunzipSync(await bytesOf(response)).toString()).toBe(`one ${PROSE}two three`);
    expect(client.violations).toEqual([]);
  });
});

describe('compress around an event app: trailers', () => {
  it('streams a body with trailers compressed, and hands the trailers over', async () => {
    const app = checked(
      defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']], trailers: true });
        await send({ type: 'http.response.body', body: PROSE, more_body: true });
        await send({ type: 'http.response.body', body: 'last' });
        await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
      }),
    );
    const client = new TestClient(compress(app));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('content-length')).toBeNull();
    expect(zlib.gunzipSync(await bytesOf(response)).toString()).toBe(`${PROSE}last`);
    expect((await trailersOf(response)).get('x-checksum')).toBe('abc');
    expect(client.violations).toEqual([]);
  });
});

describe('compress around an event app: websockets, lifespan and byte-string headers', () => {
  it('passes a websocket through untouched', async () => {
    const client = new TestClient(compress(eventInfo('inner')));
    const ws = await client.websocket('/ws', { headers: { 'accept-encoding': 'gzip' } });
    expect(JSON.parse(await ws.receiveText())).toMatchObject({ name: 'inner', path: '/ws' });
    ws.send('plain');
    expect(await ws.receiveText()).toBe('echo plain');
    await ws.close();
  });

  it('passes the lifespan to the app', async () => {
    const log: string[] = [];
    const client = await TestClient.start(compress(withLifespan('app', log)));
    expect(await (await client.get('/', { headers: { 'accept-encoding': 'gzip' } })).json()).toEqual({ key: 'app', state: ['app'] });
    await client.close();
    expect(log).toEqual(['app']);
  });
});

/** An event app that gives its header names and values as bytes (ASGI byte strings, §9). */
function byteHeaderApp(body: string): EventApp {
  const bytes = (value: string) => new Uint8Array(Buffer.from(value, 'latin1'));
  return checked(
    defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      // docs/spec.md §9 allows bytes here; src/spec/event-types.ts types only strings, hence the cast.
      const headers = [[bytes('content-type'), bytes('text/plain')], [bytes('x-app'), bytes('bytes')]] as unknown as [string, string][];
      await send({ type: 'http.response.start', status: 200, headers });
      await send({ type: 'http.response.body', body });
    }),
  );
}

describe('header-editing middleware around an event app that sends byte-string headers', () => {
  it('cors adds its headers and keeps the app’s', async () => {
    const client = new TestClient(cors(byteHeaderApp('ok'), { origin: 'https://a.test' }));
    const response = await client.get('/', { headers: { origin: 'https://a.test' } });
    expect(response.headers.get('access-control-allow-origin')).toBe('https://a.test');
    expect(response.headers.get('x-app')).toBe('bytes');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(client.violations).toEqual([]);
  });

  it('compress reads the type from bytes and compresses', async () => {
    const client = new TestClient(compress(byteHeaderApp(PROSE)));
    const response = await client.get('/', { headers: { 'accept-encoding': 'gzip' } });
    expect(response.headers.get('content-encoding')).toBe('gzip');
    expect(response.headers.get('x-app')).toBe('bytes');
    expect(zlib.gunzipSync(await bytesOf(response)).toString()).toBe(PROSE);
    expect(client.violations).toEqual([]);
  });
});

// === the bridges =====================================================================================

/** gatewayToEvent for a gateway app, eventToGateway for an event app: the app on the other interface. */
function bridge(kind: Kind, app: AnyApp): AnyApp {
  return kind === 'gateway' ? gatewayToEvent(app as GatewayApp) : eventToGateway(app as EventApp);
}

describe.each(KINDS)('a %s app through its bridge under the TestClient', (kind) => {
  const other = kind === 'gateway' ? 'event' : 'gateway';

  it(`speaks the ${kind === 'gateway' ? 'event' : 'gateway'} interface and sees the request as it would without the bridge`, async () => {
    const bridged = bridge(kind, infoApp(kind, 'bridged'));
    expect(isEventApp(bridged)).toBe(other === 'event');
    const client = new TestClient(bridged, { baseUrl: 'https://example.com:8443' });
    const info = await infoOf(await client.post('/caf%C3%A9/a%2Fb?x=1&y=2', { body: 'héllo' }));
    expect(info).toEqual({
      name: 'bridged',
      method: 'POST',
      script: '',
      path: '/café/a/b',
      raw: '/caf%C3%A9/a%2Fb',
      query: 'x=1&y=2',
      scheme: 'https',
      host: 'example.com:8443',
      body: 'héllo',
    });
    expect(client.violations).toEqual([]);
  });

  it('hands a streamed upload over chunk by chunk while it is still arriving', async () => {
    const seen = new Signal();
    const apps: Record<Kind, AnyApp> = {
      gateway: async (environ: Environ, startResponse: StartResponse) => {
        const chunks: string[] = [];
        for await (const chunk of environ['tsgi.input']) {
          chunks.push(text(chunk));
          seen.push(text(chunk));
        }
        startResponse('200 OK', [['Content-Type', 'application/json']]);
        return [JSON.stringify(chunks)];
      },
      event: defineEventApp(async (scope, receive, send) => {
        if (scope.type !== 'http') return;
        const chunks: string[] = [];
        for (;;) {
          const message = await receive();
          if (message.type !== 'http.request') break;
          if (message.body.byteLength > 0) {
            chunks.push(text(message.body));
            seen.push(text(message.body));
          }
          if (!message.more_body) break;
        }
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
        await send({ type: 'http.response.body', body: JSON.stringify(chunks) });
      }),
    };
    const client = new TestClient(bridge(kind, apps[kind]));
    const body = upload();
    const pending = client.post('/upload', { body: body.stream });
    body.push('one');
    expect(await seen.next()).toBe('one');
    body.push('two');
    expect(await seen.next()).toBe('two');
    body.end();
    expect(await (await pending).json()).toEqual(['one', 'two']);
  });

  it('streams the response as the client reads it, and ends the app once when the client stops reading', async () => {
    const record = newRecord();
    const client = new TestClient(bridge(kind, streamingApp(kind, 50, record, (i) => `line ${i}\n`)));
    const response = await client.get('/stream');
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    let received = '';
    while (!received.includes('line 2\n')) received += text((await reader.read()).value);
    expect(received).toBe('line 0\nline 1\nline 2\n');
    // Pulled, not buffered: a chunk or two ahead of the reader at most.
    expect(record.produced).toBeLessThanOrEqual(5);
    await reader.cancel();
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'stopped');
    expect(record.closes).toBe(1);
    expect(record.produced).toBeLessThan(50);
  });

  it('reads a whole streamed response to its end and ends the app once', async () => {
    const record = newRecord();
    const client = new TestClient(bridge(kind, streamingApp(kind, 20, record, (i) => `${i},`)));
    expect(await (await client.get('/')).text()).toBe(Array.from({ length: 20 }, (_, i) => `${i},`).join(''));
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'finished');
    expect(record.closes).toBe(1);
    expect(client.violations).toEqual([]);
  });

  it('answers HEAD with the length a GET announces and no body', async () => {
    const client = new TestClient(bridge(kind, infoApp(kind, 'bridged')));
    const get = await client.get('/h');
    const length = get.headers.get('content-length');
    expect(Number(length)).toBe((await get.arrayBuffer()).byteLength);
    const head = await client.head('/h');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Number(length) + 1)); // "HEAD" is one letter longer than "GET"
    expect(await head.text()).toBe('');
  });

  it('answers HEAD of a streamed response without running it to its end, ending the app once', async () => {
    const record = newRecord();
    const client = new TestClient(bridge(kind, streamingApp(kind, 1000, record, (i) => `${i}\n`)));
    const head = await client.head('/');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await record.ended.next()).toBe(kind === 'gateway' ? 'closed' : 'stopped');
    expect(record.closes).toBe(1);
    expect(record.produced).toBeLessThan(1000);
    expect(client.violations).toEqual([]);
  });

  it("passes the app's error before its response to the test as that very error", async () => {
    const failure = new Error('failed before responding');
    const apps: Record<Kind, AnyApp> = {
      gateway: () => {
        throw failure;
      },
      event: defineEventApp(async () => {
        throw failure;
      }),
    };
    await expect(new TestClient(bridge(kind, apps[kind])).get('/')).rejects.toBe(failure);
  });

  it('round-trips through both bridges and behaves as itself', async () => {
    const twice = kind === 'gateway' ? eventToGateway(gatewayToEvent(gatewayInfo('round'))) : gatewayToEvent(eventToGateway(eventInfo('round')));
    expect(isEventApp(twice)).toBe(kind === 'event');
    const client = new TestClient(twice);
    expect(await infoOf(await client.post('/r%20t?q', { body: 'rt' }))).toMatchObject({ name: 'round', path: '/r t', raw: '/r%20t', query: 'q', body: 'rt' });
    expect(client.violations).toEqual([]);
  });
});

describe('gatewayToEvent under the TestClient: what only gateway apps have', () => {
  it('keeps the legacy write() and excInfo replacing the head', async () => {
    const app = checked((environ: Environ, startResponse: StartResponse) => {
      const write = startResponse('200 OK', [['X-First', '1']]);
      if (environ.PATH_INFO === '/replace') {
        startResponse('503 Service Unavailable', [['Retry-After', '1']], new Error('changed my mind'));
        return ['later'];
      }
      write('written ');
      return ['returned'];
    });
    const client = new TestClient(gatewayToEvent(app));
    expect(await (await client.get('/write')).text()).toBe('written returned');
    const replaced = await client.get('/replace');
    expect(replaced.status).toBe(503);
    expect(replaced.headers.get('retry-after')).toBe('1');
    expect(replaced.headers.get('x-first')).toBeNull();
    expect(client.violations).toEqual([]);
  });

  it('answers 413 for a buffered app whose body passes maxBodySize, without calling it', async () => {
    const calls: string[] = [];
    const client = new TestClient(gatewayToEvent(gatewayInfo('small', calls), { maxBodySize: 4 }));
    expect(await infoOf(await client.post('/', { body: '1234' }))).toMatchObject({ body: '1234' });
    expect((await client.post('/', { body: '12345' })).status).toBe(413);
    const body = upload();
    body.push('123');
    body.push('45');
    body.end();
    expect((await client.post('/', { body: body.stream })).status).toBe(413);
    expect(calls).toEqual(['POST |/']);
  });

  it('refuses websockets (403) and answers the lifespan for the gateway app', async () => {
    const client = await TestClient.start(gatewayToEvent(gatewayInfo('gw')), { lifespan: 'on' });
    const refused = await client.websocket('/ws').catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(WebSocketRefused);
    expect((refused as WebSocketRefused).status).toBe(403);
    expect(await infoOf(await client.get('/'))).toMatchObject({ name: 'gw' });
    await client.close();
    expect(client.violations).toEqual([]);
  });
});

describe('eventToGateway under the TestClient: what only event apps have', () => {
  it('sends a single body message whole, with a Content-Length', async () => {
    const app = checked(
      defineEventApp(async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 201, headers: [['content-type', 'text/plain'], ['x-made', 'yes']] });
        await send({ type: 'http.response.body', body: 'created' });
      }),
    );
    const response = await new TestClient(eventToGateway(app)).get('/');
    expect(response.status).toBe(201);
    expect(response.statusText).toBe('Created');
    expect(response.headers.get('content-length')).toBe('7');
    expect(response.headers.get('x-made')).toBe('yes');
    expect(await response.text()).toBe('created');
  });

  it('carries header names and values given as bytes (ASGI byte strings) as their text', async () => {
    // Plain Uint8Arrays, as a TextEncoder or an ASGI port gives them (a Buffer would hide the difference).
    const latin1 = (value: string) => new Uint8Array(Buffer.from(value, 'latin1'));
    const app = checked(
      defineEventApp(async (_scope, _receive, send) => {
        // docs/spec.md §9 allows bytes here; src/spec/event-types.ts types only strings, hence the cast.
        const headers = [[latin1('content-type'), latin1('text/plain')], [latin1('x-bytes'), latin1('yes')]] as unknown as [string, string][];
        await send({ type: 'http.response.start', status: 200, headers });
        await send({ type: 'http.response.body', body: 'ok' });
      }),
    );
    const client = new TestClient(eventToGateway(app));
    const response = await client.get('/');
    expect(response.headers.get('x-bytes')).toBe('yes');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(client.violations).toEqual([]);
  });

  it('refuses trailers, which a gateway host cannot send, with an error that says so', async () => {
    // Not checked(): the inner validator would refuse the trailers first (scope.extensions lists
    // none), and this is about the bridge's own message.
    const app = defineEventApp(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200, trailers: true });
      await send({ type: 'http.response.body', body: 'x' });
    });
    await expect(new TestClient(eventToGateway(app)).get('/')).rejects.toThrow(/trailers cannot cross to a gateway host/);
  });
});
