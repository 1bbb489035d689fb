/**
 * What is particular to the llhttp backend: the internal binding it depends on (loaded without
 * deprecation warnings, and a fallback to node with the reason when it is missing or changed),
 * and protocol behaviour the other backends do not share (heads split anywhere, a bounded
 * pipeline, refusals in their turn). Everything else runs on llhttp through the shared suites.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { killChildren, root, run, start } from './cli-process.js';
import { defineEventApp, type GatewayApp } from '../src/index.js';
import { BACKENDS, delay, eventually, parseResponses, rawRequest, startServer, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

const BREAK = ['--import', pathToFileURL(path.join(root, 'test', 'fixtures', 'break-llhttp.mjs')).href];

afterEach(killChildren);

describe('the llhttp binding', () => {
  it('loads with no deprecation warning, even with --pending-deprecation --throw-deprecation', () => {
    const binding = pathToFileURL(path.join(root, 'dist', 'acceptors', 'llhttp', 'binding.js')).href;
    const result = spawnSync(
      process.execPath,
      ['--pending-deprecation', '--throw-deprecation', '--input-type=module', '-e', `import { loadLlhttp } from '${binding}'; loadLlhttp(); console.log('loaded');`],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('loaded\n');
    expect(result.status).toBe(0);
  });

  it('missing from this Node: auto falls back to node and the start-up line says why', async () => {
    const server = await start(['examples/hello.mjs'], { TSGI_TEST_BREAK_LLHTTP: 'missing' }, BREAK);
    expect(server.stderr.join('')).toContain(
      "with backend node (node:http, auto's fallback: llhttp unavailable: Node's _http_common has no HTTPParser), gateway interface",
    );
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('Hello, world!');
  });

  it('changed in this Node (it parses, but calls back differently): auto falls back to node', async () => {
    const server = await start(['examples/hello.mjs'], { TSGI_TEST_BREAK_LLHTTP: 'changed' }, BREAK);
    expect(server.stderr.join('')).toMatch(
      /with backend node \(node:http, auto's fallback: llhttp unavailable: Node's HTTPParser answers differently than expected .*\), gateway interface/,
    );
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('Hello, world!');
  });

  it('--backend llhttp where the binding is missing exits 1 naming the reason and the alternative', async () => {
    const result = run(['--backend', 'llhttp', 'examples/hello.mjs'], { TSGI_TEST_BREAK_LLHTTP: 'missing' }, BREAK);
    expect(await result.exited).toBe(1);
    expect(result.stderr.join('')).toContain("the llhttp backend is unavailable: Node's _http_common has no HTTPParser");
  });
});

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describe.runIf(BACKENDS.includes('llhttp'))('llhttp protocol', () => {
  let server: TestServer | null = null;
  const conns: RawConn[] = [];
  afterEach(async () => {
    for (const conn of conns.splice(0)) conn.destroy();
    await server?.close();
    server = null;
  });

  async function open(): Promise<RawConn> {
    const conn = await RawConn.open(server!.port);
    conns.push(conn);
    return conn;
  }

  const pathApp: GatewayApp = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [environ.PATH_INFO];
  };

  it('a head split anywhere, one byte per segment, is served', async () => {
    server = await startServer(pathApp, 'llhttp');
    const conn = await open();
    for (const byte of GET('/split')) {
      conn.write(byte);
      await delay(2);
    }
    const response = await conn.read();
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('/split');
  });

  it('a request line cut inside " HTTP/1.1" with a pause (where uWS v20 answers 505) is served', async () => {
    server = await startServer(pathApp, 'llhttp');
    const conn = await open();
    conn.write('GET /head HT');
    await delay(150);
    conn.write('TP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read();
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('/head');
  });

  it('a keep-alive connection that sat idle (its parser back in the pool) serves on: GETs, a body, a pipelined pair, a websocket-free upgrade', async () => {
    server = await startServer(async (environ, startResponse) => {
      let bytes = 0;
      for await (const chunk of environ['tsgi.input']) bytes += chunk.byteLength;
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${environ.PATH_INFO}:${bytes}`];
    }, 'llhttp');
    const conn = await open();
    conn.write(GET('/before'));
    expect((await conn.read()).body.toString()).toBe('/before:0');
    // Past the 1 s after which an idle connection lets its parser go (checked every 250 ms).
    await delay(1800);
    conn.write('POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel');
    await delay(20);
    conn.write('lo');
    expect((await conn.read()).body.toString()).toBe('/body:5');
    conn.write(GET('/one') + GET('/two'));
    expect((await conn.read()).body.toString()).toBe('/one:0');
    expect((await conn.read()).body.toString()).toBe('/two:0');
    await delay(1800);
    conn.write('GARBAGE\r\n\r\n');
    const refused = await conn.read();
    expect(refused.status).toBe(400);
    await conn.waitFor(() => conn.closed);
  });

  it('a head split across reads and left unfinished while the connection idles is read whole, not as a new request', async () => {
    server = await startServer(pathApp, 'llhttp');
    const conn = await open();
    // The first request and the start of the next in one write: the read ends inside a head.
    conn.write(GET('/first') + 'GET /sec');
    expect((await conn.read()).body.toString()).toBe('/first');
    // Long past the idle time after which a connection with nothing to answer lets its parser
    // go: that parser holds the start of /second, so it must stay.
    await delay(800);
    conn.write('ond HTTP/1.1\r\nHost: x\r\n\r\n');
    const second = await conn.read();
    expect(second.status).toBe(200);
    expect(second.body.toString()).toBe('/second');
    // A connection that really is between requests still gives its parser back and serves on.
    await delay(800);
    conn.write(GET('/third'));
    expect((await conn.read()).body.toString()).toBe('/third');
  });

  it('a websocket handshake on a connection that sat idle is handed to the app', async () => {
    const seen: string[] = [];
    server = await startServer(
      defineEventApp(async (scope, receive, send) => {
        if (scope.type === 'http') {
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'plain' });
          return;
        }
        if (scope.type !== 'websocket') return;
        seen.push((await receive()).type);
        await send({ type: 'websocket.accept' });
        seen.push((await receive()).type);
      }),
      'llhttp',
    );
    const conn = await open();
    conn.write(GET('/first'));
    expect((await conn.read()).body.toString()).toBe('plain');
    await delay(1800);
    conn.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    const handshake = await conn.read();
    expect(handshake.status).toBe(101);
    expect(handshake.header('sec-websocket-accept')).toEqual(['s3pPLMBiTxaQ9kYGzzhZRbK+xOo=']);
    // A masked close frame (code 1000): the app hears websocket.disconnect.
    conn.write(Buffer.from([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2]));
    await eventually(() => seen.length === 2);
    expect(seen).toEqual(['websocket.connect', 'websocket.disconnect']);
  });

  it('a pipelining client that outruns a slow app is read no further ahead than a few requests, and all are answered in order', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    server = await startServer(async (environ, startResponse) => {
      calls.push(environ.PATH_INFO);
      if (environ.PATH_INFO === '/0') await released;
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [environ.PATH_INFO];
    }, 'llhttp');
    const conn = await open();
    // 2,500 requests of 4 KiB each: 10 MiB, more than the kernel's socket buffers hold.
    const pad = 'p'.repeat(4000);
    const count = 2500;
    let all = '';
    for (let i = 0; i < count; i++) all += `GET /${i} HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\n\r\n`;
    conn.write(all);
    await delay(500);
    // Later requests wait their turn: the app has seen only the first, and the server stopped
    // reading, so most of the 10 MiB is still in the client's send buffer.
    expect(calls).toEqual(['/0']);
    expect(conn.socket.writableLength).toBeGreaterThan(2 * 1024 * 1024);
    release();
    for (let i = 0; i < count; i++) {
      const response = await conn.read();
      if (response.body.toString() !== `/${i}`) expect.fail(`response ${i} carried ${response.body.toString()}`);
    }
    expect(calls).toHaveLength(count);
    expect(conn.closed).toBe(false);
  }, 30_000);

  it('a malformed request pipelined behind a slow one: the first answered with keep-alive, then 400 and close', async () => {
    const calls: string[] = [];
    server = await startServer(async (environ, startResponse) => {
      calls.push(environ.PATH_INFO);
      await delay(100);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [environ.PATH_INFO];
    }, 'llhttp');
    const conn = await open();
    conn.write(GET('/slow') + 'GARBAGE\r\n\r\n' + GET('/smuggled'));
    const first = await conn.read();
    expect(first.status).toBe(200);
    expect(first.body.toString()).toBe('/slow');
    expect(first.header('connection')).toEqual([]);
    const second = await conn.read();
    expect(second.status).toBe(400);
    expect(second.header('connection')).toEqual(['close']);
    await conn.waitFor(() => conn.closed);
    expect(calls).toEqual(['/slow']);
  });

  it('an h2c Upgrade request is served as a plain request, and a request pipelined after it too', async () => {
    server = await startServer(pathApp, 'llhttp');
    const conn = await open();
    conn.write(
      'GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n' +
        GET('/after'),
    );
    expect((await conn.read()).body.toString()).toBe('/h2c');
    expect((await conn.read()).body.toString()).toBe('/after');
  });

  it.each([
    ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 501],
    ['GET / HTTP/1.1\r\nHost: x\r\nExpect: something-else\r\n\r\n', 417],
    ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 505],
    ['GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400],
    ['GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
    ['POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],
  ])('refuses %j with %i, Connection: close, and serves on', async (request, status) => {
    const calls: string[] = [];
    server = await startServer((environ, startResponse) => {
      calls.push(environ.PATH_INFO);
      return pathApp(environ, startResponse);
    }, 'llhttp');
    const result = await rawRequest(server.port, request + GET('/smuggled'), 3000);
    expect(result.closed).toBe(true);
    const responses = parseResponses(result.text);
    expect(responses.map((response) => response.status)).toEqual([status]);
    expect(responses[0]!.header('connection')).toEqual(['close']);
    expect(responses[0]!.body).toMatch(/\n\n.+\n$/);
    expect(calls).toEqual([]);
    expect(await (await fetch(`${server.url}/next`)).text()).toBe('/next');
  });
});
