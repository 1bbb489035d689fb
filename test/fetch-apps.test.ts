/**
 * Fetch handlers on tsgi (fromFetch, --interface fetch): a real Hono app through serve() and
 * through the command line, and plain `(request) => Response` functions for what Hono does not
 * show: backpressure on the request body, request.signal on a client that leaves, bodies of every
 * Response kind.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defineFetchApp, fromFetch, serve, type Server } from '../src/index.js';
import { killChildren, start, type Running } from './cli-process.js';
import { startServer, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';
// @ts-expect-error: a plain .mjs example without type declarations
import honoApp from '../examples/hono.mjs';

const hono = honoApp as { fetch(request: Request): Promise<Response> };

/** The Hono checks, against a server at `url`. */
function honoSuite(url: () => string, port: () => number): void {
  it('routes, answers text and JSON with the query', async () => {
    const root = await fetch(`${url()}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toBe('Hello from Hono on tsgi!');
    expect(root.headers.get('content-length')).toBe('24');
    expect(await (await fetch(`${url()}/json?q=a%20b`)).json()).toEqual({ ok: true, path: '/json', query: 'a b' });
    expect((await fetch(`${url()}/nothing`)).status).toBe(404);
  });

  it('reads a request body and keeps several Set-Cookie headers apart', async () => {
    const echo = await fetch(`${url()}/echo`, { method: 'POST', body: 'posted', headers: { 'content-type': 'text/x-test' } });
    expect(await echo.text()).toBe('posted');
    expect(echo.headers.get('x-echo-type')).toBe('text/x-test');
    const cookies = await fetch(`${url()}/cookies`);
    expect(cookies.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly']);
  });

  it('parses a multipart upload with parseBody()', async () => {
    const form = new FormData();
    form.set('name', 'report');
    form.set('file', new File(['file contents'], 'report.txt', { type: 'text/plain' }));
    const response = await fetch(`${url()}/upload`, { method: 'POST', body: form });
    expect(await response.json()).toEqual({ name: 'report', file: { name: 'report.txt', size: 13, text: 'file contents' } });
  });

  it('streams server-sent events as they are written', async () => {
    // The second event waits for a long interval: the first must arrive before it exists.
    const conn = await RawConn.open(port());
    conn.write('GET /events?count=2&interval=2000 HTTP/1.1\r\nHost: x\r\n\r\n');
    await conn.waitFor(() => conn.pending().includes('tick 1'));
    const text = conn.pending().toString('latin1');
    expect(text.toLowerCase()).toContain('content-type: text/event-stream');
    expect(text).toContain('event: tick\ndata: tick 1\nid: 1');
    expect(text).not.toContain('tick 2');
    conn.destroy();
  });

  it('answers HEAD with the headers only', async () => {
    const conn = await RawConn.open(port());
    conn.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read({ head: true });
    expect(response.status).toBe(200);
    expect(response.body.byteLength).toBe(0);
    conn.destroy();
  });
}

describe('a Hono app through serve()', () => {
  let server: Server;
  beforeAll(async () => {
    server = await serve(hono, { host: '127.0.0.1', port: 0, logLevel: 'warning' });
  });
  afterAll(() => server.close());
  it('is recognised as a fetch handler', () => {
    expect(server.interface).toBe('event');
  });
  honoSuite(
    () => `http://127.0.0.1:${server.port}`,
    () => server.port,
  );
});

describe('a Hono app through the command line', () => {
  let running: Running;
  beforeAll(async () => {
    running = await start(['examples/hono.mjs']);
  });
  afterAll(() => killChildren());
  it('says it serves a fetch handler', () => {
    expect(running.stderr.join('')).toContain('fetch interface (served as an event app)');
  });
  honoSuite(
    () => `http://127.0.0.1:${running.port}`,
    () => running.port,
  );
});

describe('fetch handlers', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('sends every Response body kind, and a stream with backpressure-friendly chunks', async () => {
    const app = defineFetchApp(async (request) => {
      const kind = new URL(request.url).pathname.slice(1);
      if (kind === 'bytes') return new Response(new Uint8Array([104, 105]));
      if (kind === 'blob') return new Response(new Blob(['blob']));
      if (kind === 'null') return new Response(null, { status: 204 });
      if (kind === 'stream') {
        let n = 0;
        return new Response(
          new ReadableStream({
            pull(controller) {
              if (++n > 3) controller.close();
              else controller.enqueue(new TextEncoder().encode(`part${n};`));
            },
          }),
        );
      }
      return new Response('text');
    });
    server = await startServer(fromFetch(app), 'llhttp');
    expect(await (await fetch(`${server.url}/text`)).text()).toBe('text');
    expect(await (await fetch(`${server.url}/bytes`)).text()).toBe('hi');
    expect(await (await fetch(`${server.url}/blob`)).text()).toBe('blob');
    expect((await fetch(`${server.url}/null`)).status).toBe(204);
    expect(await (await fetch(`${server.url}/stream`)).text()).toBe('part1;part2;part3;');
  });

  it('streams a large upload to the handler as it reads it', async () => {
    const app = defineFetchApp(async (request) => {
      let size = 0;
      for await (const chunk of request.body!) size += chunk.byteLength;
      return new Response(String(size));
    });
    server = await startServer(fromFetch(app), 'llhttp');
    const body = new Uint8Array(8 * 1024 * 1024).fill(7);
    expect(await (await fetch(server.url, { method: 'PUT', body })).text()).toBe(String(body.byteLength));
  });

  it('aborts request.signal and cancels the response stream when the client leaves', async () => {
    let aborted!: () => void;
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
    let cancelled!: () => void;
    const sawCancel = new Promise<void>((resolve) => (cancelled = resolve));
    const app = defineFetchApp(async (request) => {
      request.signal.addEventListener('abort', () => aborted());
      return new Response(
        new ReadableStream({
          pull(controller) {
            controller.enqueue(new Uint8Array(64 * 1024));
          },
          cancel() {
            cancelled();
          },
        }),
      );
    });
    server = await startServer(fromFetch(app), 'llhttp');
    const socket = net.connect(server.port, '127.0.0.1');
    socket.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    await sawCancel;
    await sawAbort;
  });

  it('gives a 500 for a handler that throws or returns something else than a Response', async () => {
    const app = defineFetchApp((request) => {
      if (request.url.endsWith('/throw')) throw new Error('fetch handler failed');
      return 'not a response' as unknown as Response;
    });
    server = await startServer(fromFetch(app), 'llhttp');
    expect((await fetch(`${server.url}/throw`)).status).toBe(500);
    expect((await fetch(`${server.url}/other`)).status).toBe(500);
    expect(server.errors.join('')).toContain('fetch handler failed');
    expect(server.errors.join('')).toContain('must return a Response');
  });

  it('refuses websockets (403) and passes the env to the handler', async () => {
    const app = fromFetch((_request, env) => new Response(String(env.region)), { env: { region: 'eu' } });
    server = await startServer(app, 'llhttp');
    expect(await (await fetch(server.url)).text()).toBe('eu');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/ws`);
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the websocket was accepted')));
      ws.once('error', () => {});
    });
    expect(status).toBe(403);
  });
});
