/**
 * tsgi apps on other servers (issue 12, part 3): toNodeHandler under node:http, node:https and a
 * real Express 5 app; toFetch called with standard Request objects on Node and served for real by
 * `Deno.serve` in a Deno child process. Both interfaces (gateway, event) go through each bridge:
 * scope and environ, request bodies read as the app reads, streamed responses under the client's
 * backpressure, Set-Cookie, HEAD, faults, client disconnects (send rejects, http.disconnect,
 * close() once) and the lifespan run by startup()/shutdown().
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  defineEventApp,
  toFetch,
  toNodeHandler,
  type Environ,
  type GatewayApp,
  type HttpScope,
  type Receive,
  type ReceiveMessage,
  type Send,
} from '../src/index.js';
import { makeCerts } from './certs.js';
import { RawConn } from './raw-conn.js';
import {
  decodeChunked,
  MiB,
  patternBytes,
  readSlowly,
  repeatedHash,
  sha256,
  splitResponse,
  StallingConsumer,
  uploadUnderBackpressure,
} from './stream-helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// --- small tools ----------------------------------------------------------------------------------

/** Waits for `condition`, checking after each turn of the event loop (events, not a fixed sleep). */
async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets every task already queued run (a few turns of the event loop); for in-process streams only. */
async function quiesce(): Promise<void> {
  for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
}

function GET(target: string, extra = ''): string {
  return `GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
}

interface Fault {
  error: Error;
  scope: HttpScope | null;
}

/** An onError that collects, so tests see exactly what the bridge reported. */
function faultLog(): { faults: Fault[]; onError: (error: Error, scope: HttpScope | null) => void } {
  const faults: Fault[] = [];
  return { faults, onError: (error, scope) => faults.push({ error, scope }) };
}

async function readAll(receive: Receive): Promise<{ body: Buffer; messages: number }> {
  const parts: Uint8Array[] = [];
  let messages = 0;
  for (;;) {
    const message = await receive();
    if (message.type !== 'http.request') throw new Error(`expected http.request, got ${message.type}`);
    messages++;
    parts.push(message.body);
    if (!message.more_body) break;
  }
  return { body: Buffer.concat(parts), messages };
}

async function sendText(send: Send, status: number, text: string, headers: Array<[string, string]> = []): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain; charset=utf-8'], ...headers] });
  await send({ type: 'http.response.body', body: text });
}

async function sendJson(send: Send, value: unknown): Promise<void> {
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
  await send({ type: 'http.response.body', body: JSON.stringify(value) });
}

/** An event app that answers with its scope (and the body it read) as JSON. */
const scopeApp = defineEventApp(async (scope, receive, send) => {
  if (scope.type !== 'http') return;
  const { body } = await readAll(receive);
  const { asgi: _asgi, ...rest } = scope;
  await sendJson(send, { ...rest, body: body.toString('utf8') });
});

/** A gateway app that answers with the environ's strings as JSON. */
const environApp: GatewayApp = async (environ: Environ, startResponse) => {
  const parts: Uint8Array[] = [];
  for await (const chunk of environ['tsgi.input']) parts.push(chunk);
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(environ)) if (typeof value === 'string') strings[key] = value;
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify({ ...strings, body: Buffer.concat(parts).toString('utf8') })];
};

/** A gateway body that never ends on its own, counting close() calls. */
function endlessBody(piece: Uint8Array): AsyncIterable<Uint8Array> & { close(): void; closes: number; produced: number } {
  const body = {
    closes: 0,
    produced: 0,
    [Symbol.asyncIterator]() {
      return {
        next: async () => {
          body.produced++;
          return { done: false as const, value: piece };
        },
      };
    },
    close() {
      body.closes++;
    },
  };
  return body;
}

// --- node:http harness ----------------------------------------------------------------------------

interface Listening {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

const listening: Listening[] = [];

async function listen(listener: http.RequestListener, server: http.Server = http.createServer()): Promise<Listening> {
  server.on('request', listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const entry: Listening = {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  listening.push(entry);
  return entry;
}

afterEach(async () => {
  await Promise.all(listening.splice(0).map((entry) => entry.close()));
});

// --- toNodeHandler ----------------------------------------------------------------------------------

describe('toNodeHandler under http.createServer', () => {
  it('gives an event app the scope the tsgi server would: raw and decoded path, headers in order, client, server', async () => {
    const { faults, onError } = faultLog();
    const { port } = await listen(toNodeHandler(scopeApp, { onError }));
    const conn = await RawConn.open(port);
    conn.write('POST /a%20b/c?x=1&y HTTP/1.1\r\nHost: example.test\r\nX-Dup: one\r\nx-dup: two\r\nContent-Length: 5\r\n\r\nhello');
    const response = await conn.read();
    const scope = JSON.parse(response.body.toString());
    expect(scope).toMatchObject({
      type: 'http',
      http_version: '1.1',
      method: 'POST',
      scheme: 'http',
      path: '/a b/c',
      raw_path: '/a%20b/c',
      query_string: 'x=1&y',
      root_path: '',
      client: ['127.0.0.1', conn.localPort],
      server: ['127.0.0.1', port],
      state: {},
      extensions: { 'http.response.trailers': {} },
      body: 'hello',
    });
    expect(scope.headers).toEqual([
      ['host', 'example.test'],
      ['x-dup', 'one'],
      ['x-dup', 'two'],
      ['content-length', '5'],
    ]);
    conn.write('GET / HTTP/1.0\r\n\r\n');
    const old = JSON.parse((await conn.read()).body.toString());
    expect(old.http_version).toBe('1.0');
    expect(old.extensions).toEqual({});
    conn.destroy();
    expect(faults).toEqual([]);
  });

  it('gives a gateway app its environ, and an array body goes out with its Content-Length', async () => {
    const { url } = await listen(toNodeHandler(environApp));
    const response = await fetch(`${url}/g%2Fx/%C3%A9?q=1`, { method: 'POST', body: 'posted', headers: { 'x-test': 'yes' } });
    expect(response.headers.get('content-length')).not.toBeNull();
    const environ = await response.json();
    expect(environ).toMatchObject({
      REQUEST_METHOD: 'POST',
      SCRIPT_NAME: '',
      PATH_INFO: '/g/x/é',
      'tsgi.raw_path': '/g%2Fx/%C3%A9',
      QUERY_STRING: 'q=1',
      SERVER_NAME: '127.0.0.1',
      REMOTE_ADDR: '127.0.0.1',
      HTTP_X_TEST: 'yes',
      CONTENT_LENGTH: '6',
      'tsgi.url_scheme': 'http',
      body: 'posted',
    });
  });

  for (const kind of ['event', 'gateway'] as const) {
    it(`streams a 32 MiB upload to a slow ${kind} app in bounded chunks, intact`, async () => {
      const total = 32 * MiB;
      const block = patternBytes(MiB);
      const consumer = new StallingConsumer([8 * MiB, 16 * MiB, 24 * MiB]);
      let seen: { bytes: number; hash: string; largest: number } | null = null;
      const account = async (chunk: Uint8Array, hash: ReturnType<typeof createHash>, stats: { bytes: number; largest: number }) => {
        stats.bytes += chunk.byteLength;
        stats.largest = Math.max(stats.largest, chunk.byteLength);
        hash.update(chunk);
        await consumer.consumed(chunk.byteLength);
      };
      const eventApp = defineEventApp(async (scope, receive, send) => {
        if (scope.type !== 'http') return;
        const hash = createHash('sha256');
        const stats = { bytes: 0, largest: 0 };
        for (;;) {
          const message = await receive();
          if (message.type !== 'http.request') throw new Error(`unexpected ${message.type}`);
          await account(message.body, hash, stats);
          if (!message.more_body) break;
        }
        seen = { ...stats, hash: hash.digest('hex') };
        await sendText(send, 200, 'stored');
      });
      const gatewayApp: GatewayApp = async (environ, startResponse) => {
        const hash = createHash('sha256');
        const stats = { bytes: 0, largest: 0 };
        for await (const chunk of environ['tsgi.input']) await account(chunk, hash, stats);
        seen = { ...stats, hash: hash.digest('hex') };
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return ['stored'];
      };
      const { port } = await listen(toNodeHandler(kind === 'event' ? eventApp : gatewayApp));
      consumer.start();
      const result = await uploadUnderBackpressure(port, `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`, block, total / MiB);
      const response = splitResponse(result.raw);
      expect(response.status).toBe(200);
      expect(response.rest.toString()).toBe('stored');
      expect(seen!.bytes).toBe(total);
      expect(seen!.hash).toBe(repeatedHash(block, total / MiB));
      // req is read on demand: a message carries what Node buffered (its high-water mark and a
      // socket read or two), never what the client managed to send meanwhile.
      expect(seen!.largest).toBeLessThanOrEqual(MiB);
      expect(consumer.growthAtStalls).toHaveLength(3);
      for (const growth of consumer.growthAtStalls) expect(growth).toBeLessThan(16 * MiB);
    });

    it(`makes a ${kind} app's sends wait for a slow client: 32 MiB stall while it does not read, then arrive intact`, async () => {
      const total = 32 * MiB;
      const piece = 64 * 1024;
      let produced = 0;
      const eventApp = defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
        for (let offset = 0; offset < total; offset += piece) {
          await send({ type: 'http.response.body', body: patternBytes(piece, offset), more_body: true });
          produced += piece;
        }
        await send({ type: 'http.response.body' });
      });
      const gatewayApp: GatewayApp = async (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
        return (async function* () {
          for (let offset = 0; offset < total; offset += piece) {
            yield patternBytes(piece, offset);
            produced += piece;
          }
        })();
      };
      const { port } = await listen(toNodeHandler(kind === 'event' ? eventApp : gatewayApp));
      const result = await readSlowly(port, GET('/slow'), () => produced);
      const response = splitResponse(result.raw);
      expect(response.status).toBe(200);
      const body = decodeChunked(response.rest).body;
      expect(body.byteLength).toBe(total);
      expect(sha256(body)).toBe(sha256(patternBytes(total)));
      expect(result.producedAtStall).toBeGreaterThan(0);
      expect(result.producedAtStall).toBeLessThan(total / 2);
      expect(result.producedBeforeResume - result.producedAtStall).toBeLessThanOrEqual(MiB);
    });
  }

  it('keeps several Set-Cookie headers apart, from either interface', async () => {
    const eventApp = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await sendText(send, 200, 'event', [
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; HttpOnly'],
      ]);
    });
    const gatewayApp: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [
        ['Set-Cookie', 'c=3'],
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'd=4; Secure'],
      ]);
      return ['gateway'];
    };
    for (const [app, cookies] of [
      [eventApp, ['a=1; Path=/', 'b=2; HttpOnly']],
      [gatewayApp, ['c=3', 'd=4; Secure']],
    ] as const) {
      const { port } = await listen(toNodeHandler(app));
      const conn = await RawConn.open(port);
      conn.write(GET('/'));
      const response = await conn.read();
      expect(response.header('set-cookie')).toEqual(cookies);
      conn.destroy();
    }
  });

  it('answers HEAD with the head a GET would have, and no body, from either interface', async () => {
    const eventApp = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await sendText(send, 200, 'twelve bytes');
    });
    const gatewayApp: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['eleven', ' more'];
    };
    for (const [app, length] of [
      [eventApp, '12'],
      [gatewayApp, '11'],
    ] as const) {
      const { port } = await listen(toNodeHandler(app));
      const conn = await RawConn.open(port);
      conn.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await conn.read({ head: true });
      expect(head.status).toBe(200);
      expect(head.header('content-length')).toEqual([length]);
      // Nothing of the body followed: the next response on the connection parses cleanly.
      conn.write(GET('/'));
      const next = await conn.read();
      expect(next.body.byteLength).toBe(Number(length));
      conn.destroy();
    }
  });

  it('answers 500 when the app raises before responding, and tells onError', async () => {
    const { faults, onError } = faultLog();
    const app = defineEventApp(async (scope) => {
      if (scope.type === 'http') throw new Error('the app failed on purpose');
    });
    const { url } = await listen(toNodeHandler(app, { onError }));
    const response = await fetch(`${url}/boom?x=1`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(faults).toHaveLength(1);
    expect(faults[0]!.error.message).toBe('the app failed on purpose');
    expect(faults[0]!.scope?.path).toBe('/boom');
  });

  it('writes app errors to stderr in the tsgi log format when no onError is given', async () => {
    const gatewayApp: GatewayApp = () => {
      throw new Error('gateway failure on purpose');
    };
    const { url } = await listen(toNodeHandler(gatewayApp));
    const written: string[] = [];
    const original = process.stderr.write;
    process.stderr.write = ((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      const response = await fetch(`${url}/broken`);
      expect(response.status).toBe(500);
      await response.arrayBuffer();
    } finally {
      process.stderr.write = original;
    }
    const text = written.join('');
    expect(text).toContain('[tsgi] [error] toNodeHandler: GET /broken: the app raised an error:');
    expect(text).toContain('Error: gateway failure on purpose');
  });

  it('cuts the response when the app raises after it started, and answers 500 when it returns without one', async () => {
    const { faults, onError } = faultLog();
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/silent') return;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'first part', more_body: true });
      throw new Error('failed mid-stream');
    });
    const { port, url } = await listen(toNodeHandler(app, { onError }));
    const conn = await RawConn.open(port);
    conn.write(GET('/midway'));
    await conn.waitFor(() => conn.pending().includes('first part'));
    await until(() => conn.closed, 'the connection to close');
    // The chunked body never got its terminating chunk: no client can take it for whole.
    expect(conn.pending().toString('latin1')).not.toContain('\r\n0\r\n\r\n');
    const silent = await fetch(`${url}/silent`);
    expect(silent.status).toBe(500);
    expect(faults.map((fault) => fault.error.message)).toEqual([
      'failed mid-stream',
      expect.stringContaining('the app returned without sending a whole response'),
    ]);
  });

  it('rejects a protocol misuse in send() with a ProtocolError the app can catch', async () => {
    const { faults, onError } = faultLog();
    let failure: Error | null = null;
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      try {
        await send({ type: 'http.response.body', body: 'too early' });
      } catch (error) {
        failure = error as Error;
      }
      await send({ type: 'http.response.start', status: 200, headers: [['content-length', '3']] });
      await send({ type: 'http.response.body', body: 'abc' });
    });
    const { url } = await listen(toNodeHandler(app, { onError }));
    const response = await fetch(url);
    expect(await response.text()).toBe('abc');
    expect(failure!.name).toBe('ProtocolError');
    expect(failure!.message).toContain('before http.response.start');
    expect(faults).toHaveLength(1);
  });

  it('an event app whose client leaves mid-stream: send() rejects, then receive() says http.disconnect', async () => {
    const { faults, onError } = faultLog();
    let failure: Error | null = null;
    let after: ReceiveMessage | null = null;
    let produced = 0;
    const piece = patternBytes(64 * 1024);
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await receive();
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (;;) {
          await send({ type: 'http.response.body', body: piece, more_body: true });
          produced++;
        }
      } catch (error) {
        failure = error as Error;
      }
      after = await receive();
    });
    const { port } = await listen(toNodeHandler(app, { onError }));
    const conn = await RawConn.open(port);
    conn.write(GET('/endless'));
    await conn.waitFor(() => conn.pending().length > 0);
    conn.destroy();
    await until(() => after !== null, 'the app to see the disconnect');
    expect(produced).toBeGreaterThan(0);
    expect(failure!.name).toBe('DisconnectedError');
    expect(after).toEqual({ type: 'http.disconnect' });
    // A client that leaves is not a fault of the app.
    expect(faults).toEqual([]);
  });

  it("a gateway app's endless body is closed exactly once when the client leaves", async () => {
    const { faults, onError } = faultLog();
    const body = endlessBody(patternBytes(64 * 1024));
    const app: GatewayApp = (environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      if (environ.PATH_INFO === '/endless') return body;
      return ['short'];
    };
    const { port, url } = await listen(toNodeHandler(app, { onError }));
    const conn = await RawConn.open(port);
    conn.write(GET('/endless'));
    await conn.waitFor(() => conn.pending().length > 64 * 1024);
    conn.destroy();
    await until(() => body.closes > 0, 'close()');
    // Another exchange on the same server: whatever the first one still had to do is done.
    expect(await (await fetch(`${url}/other`)).text()).toBe('short');
    expect(body.closes).toBe(1);
    expect(faults).toEqual([]);
  });

  it('a client that leaves mid-upload turns the waiting receive() into http.disconnect', async () => {
    const messages: string[] = [];
    let done = false;
    const app = defineEventApp(async (scope, receive) => {
      if (scope.type !== 'http') return;
      for (;;) {
        const message = await receive();
        messages.push(message.type);
        if (message.type !== 'http.request' || !message.more_body) break;
      }
      done = true;
    });
    const { port } = await listen(toNodeHandler(app));
    const conn = await RawConn.open(port);
    conn.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MiB}\r\n\r\n`);
    conn.write(patternBytes(256 * 1024));
    await until(() => messages.length > 0, 'the first body message');
    conn.destroy();
    await until(() => done, 'the app to finish');
    expect(messages.at(-1)).toBe('http.disconnect');
    expect(messages.slice(0, -1).every((type) => type === 'http.request')).toBe(true);
  });

  it('drops a body the app did not read, so the keep-alive connection goes on', async () => {
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.method === 'POST') await receive(); // one message, not the whole body
      await sendText(send, 200, `${scope.method} ${scope.path}`);
    });
    const { port } = await listen(toNodeHandler(app));
    const conn = await RawConn.open(port);
    conn.write(`POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${2 * MiB}\r\n\r\n`);
    conn.write(patternBytes(2 * MiB));
    conn.write(GET('/next'));
    expect((await conn.read()).body.toString()).toBe('POST /big');
    expect((await conn.read()).body.toString()).toBe('GET /next');
    conn.destroy();
  });

  it('sends trailers on a chunked HTTP/1.1 response', async () => {
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, trailers: true });
      await send({ type: 'http.response.body', body: 'with trailers' });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc123']] });
    });
    const { port } = await listen(toNodeHandler(app));
    const conn = await RawConn.open(port);
    conn.write(GET('/', 'Connection: close\r\n'));
    await until(() => conn.closed, 'the response');
    const response = splitResponse(conn.pending());
    const { body, trailers } = decodeChunked(response.rest);
    expect(body.toString()).toBe('with trailers');
    expect(trailers).toEqual([['x-checksum', 'abc123']]);
  });

  it('runs the lifespan through startup()/shutdown(), and puts the state in every scope', async () => {
    const events: string[] = [];
    let gate!: () => void;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        events.push((await receive()).type);
        await opened;
        scope.state.db = 'connected';
        await send({ type: 'lifespan.startup.complete' });
        events.push((await receive()).type);
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      events.push('http');
      await sendJson(send, scope.state);
    });
    const handler = toNodeHandler(app);
    const { server, url } = await listen(handler);
    const startup = handler.startup();
    await until(() => events.length === 1, 'lifespan.startup');
    // A request that arrives during startup waits for it.
    let arrived = false;
    server.on('request', () => (arrived = true));
    const response = fetch(url);
    await until(() => arrived, 'the request to reach the server');
    expect(events).toEqual(['lifespan.startup']);
    gate();
    await startup;
    expect(await (await response).json()).toEqual({ db: 'connected' });
    expect(handler.state).toEqual({ db: 'connected' });
    await handler.shutdown();
    expect(events).toEqual(['lifespan.startup', 'http', 'lifespan.shutdown']);
  });

  it('rejects startup() with the message of an app whose startup failed; a gateway app starts without one', async () => {
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.failed', message: 'no database' });
    });
    const { faults, onError } = faultLog();
    await expect(toNodeHandler(app, { onError }).startup()).rejects.toThrow('lifespan startup failed: no database');
    const gateway = toNodeHandler(environApp);
    await gateway.startup();
    await gateway.shutdown();
    expect(faults).toEqual([]);
  });

  it('refuses what is not a tsgi app, naming what to do', () => {
    expect(() => toNodeHandler(null as never)).toThrow(/needs a tsgi app.*got null/);
    expect(() => toNodeHandler({ fetch: () => new Response('x') } as never)).toThrow(/fromFetch\(\)/);
    expect(() => toNodeHandler(scopeApp, { lifespan: 'sometimes' as never })).toThrow(/lifespan must be/);
  });
});

describe('toNodeHandler under https.createServer', () => {
  it('says https in the scope and the environ', async () => {
    const certs = makeCerts();
    const server = https.createServer({ key: readFileSync(certs.serverKey), cert: readFileSync(certs.serverCert) });
    const eventHandler = toNodeHandler(scopeApp);
    const gatewayHandler = toNodeHandler(environApp);
    const { port } = await listen((req, res) => (req.url!.startsWith('/gw') ? gatewayHandler : eventHandler)(req, res), server);
    const get = (target: string) =>
      new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port, path: target, ca: certs.ca, servername: 'localhost' }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (part: Buffer) => parts.push(part));
            res.on('end', () => resolve(Buffer.concat(parts).toString()));
          })
          .on('error', reject);
      });
    expect(JSON.parse(await get('/secure')).scheme).toBe('https');
    expect(JSON.parse(await get('/gw'))['tsgi.url_scheme']).toBe('https');
  });
});

describe('toNodeHandler inside an Express 5 app', () => {
  let base = '';
  beforeAll(async () => {
    const expressApp = express();
    expressApp.use((_req, res, next) => {
      res.setHeader('x-from-express', 'middleware');
      next();
    });
    expressApp.get('/before', (_req, res) => {
      res.send('express route before');
    });
    expressApp.use('/x', toNodeHandler(scopeApp));
    const router = express.Router();
    router.use('/v1', toNodeHandler(environApp));
    expressApp.use('/api', router);
    expressApp.get('/after', (_req, res) => {
      res.json({ route: 'after' });
    });
    const server = http.createServer(expressApp);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    return () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
  });

  it('moves the mount prefix to root_path, as tsgi mount does', async () => {
    const response = await fetch(`${base}/x/y%20z?q=1`);
    expect(response.headers.get('x-from-express')).toBe('middleware');
    expect(await response.json()).toMatchObject({ root_path: '/x', path: '/y z', raw_path: '/y%20z', query_string: 'q=1' });
    expect(await (await fetch(`${base}/x`)).json()).toMatchObject({ root_path: '/x', path: '', raw_path: '' });
    expect(await (await fetch(`${base}/x/`)).json()).toMatchObject({ root_path: '/x', path: '/', raw_path: '/' });
  });

  it('gives a gateway app under a router SCRIPT_NAME and PATH_INFO, and the request body', async () => {
    const response = await fetch(`${base}/api/v1/items?id=3`, { method: 'POST', body: 'through express' });
    expect(await response.json()).toMatchObject({
      SCRIPT_NAME: '/api/v1',
      PATH_INFO: '/items',
      'tsgi.raw_path': '/items',
      QUERY_STRING: 'id=3',
      body: 'through express',
    });
  });

  it("leaves Express's own routes and 404s alone", async () => {
    expect(await (await fetch(`${base}/before`)).text()).toBe('express route before');
    expect(await (await fetch(`${base}/after`)).json()).toEqual({ route: 'after' });
    // /xyz is not below /x: Express does not route it there.
    const miss = await fetch(`${base}/xyz`);
    expect(miss.status).toBe(404);
    expect(await miss.text()).toContain('Cannot GET /xyz');
  });
});

// --- toFetch on Node --------------------------------------------------------------------------------

describe('toFetch with standard Request objects on Node', () => {
  it('builds the scope from the URL and headers; the client from the host or the option', async () => {
    const handler = toFetch(scopeApp);
    const response = await handler(new Request('https://example.test:8443/a%20b?x=1', { headers: { 'x-one': '1' } }));
    expect(await response.json()).toMatchObject({
      type: 'http',
      http_version: '1.1',
      method: 'GET',
      scheme: 'https',
      path: '/a b',
      raw_path: '/a%20b',
      query_string: 'x=1',
      root_path: '',
      headers: [
        ['host', 'example.test:8443'],
        ['x-one', '1'],
      ],
      client: null,
      server: ['example.test', 8443],
      state: {},
      extensions: {},
    });
    // Deno.serve passes `info.remoteAddr` after the request; Bun passes the server.
    const deno = (await (await handler(new Request('http://h/'), { remoteAddr: { hostname: '10.1.1.1', port: 4242 } })).json()) as HttpScope;
    expect(deno.client).toEqual(['10.1.1.1', 4242]);
    const bun = (await (await handler(new Request('http://h/'), { requestIP: () => ({ address: '10.2.2.2', port: 7 }) })).json()) as HttpScope;
    expect(bun.client).toEqual(['10.2.2.2', 7]);
    const chosen = toFetch(scopeApp, { client: (request) => [request.headers.get('cf-connecting-ip') ?? '', 0] });
    const cf = (await (await chosen(new Request('http://h/', { headers: { 'cf-connecting-ip': '192.0.2.9' } }), {}, {})).json()) as HttpScope;
    expect(cf.client).toEqual(['192.0.2.9', 0]);
  });

  it('reads the request body one chunk per receive(): the body stream is pulled as the app reads', async () => {
    const chunks = 64;
    const piece = 64 * 1024;
    let pulled = 0;
    let gap = 0;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled === chunks) controller.close();
          else controller.enqueue(patternBytes(piece, pulled++ * piece));
        },
      },
      { highWaterMark: 0 },
    );
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      const hash = createHash('sha256');
      let received = 0;
      for (;;) {
        const message = await receive();
        if (message.type !== 'http.request') throw new Error(message.type);
        received++;
        gap = Math.max(gap, pulled - received);
        hash.update(message.body);
        if (!message.more_body) break;
        // A slow reader: the source must not run ahead meanwhile.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await sendText(send, 200, hash.digest('hex'));
    });
    const request = new Request('http://h/upload', { method: 'POST', body: source, duplex: 'half' } as RequestInit);
    const response = await toFetch(app)(request);
    expect(await response.text()).toBe(sha256(patternBytes(chunks * piece)));
    expect(pulled).toBe(chunks);
    expect(gap).toBeLessThanOrEqual(1);
  });

  for (const kind of ['event', 'gateway'] as const) {
    it(`streams a ${kind} app's response as the reader pulls it: sends wait while it does not read`, async () => {
      const piece = 64 * 1024;
      const chunks = 64;
      let produced = 0;
      const eventApp = defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/octet-stream']] });
        for (let i = 0; i < chunks; i++) {
          await send({ type: 'http.response.body', body: patternBytes(piece, i * piece), more_body: true });
          produced++;
        }
        await send({ type: 'http.response.body' });
      });
      const gatewayApp: GatewayApp = async (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
        return (async function* () {
          for (let i = 0; i < chunks; i++) {
            yield patternBytes(piece, i * piece);
            produced++;
          }
        })();
      };
      const response = await toFetch(kind === 'event' ? eventApp : gatewayApp)(new Request('http://h/stream'));
      const reader = response.body!.getReader();
      const parts: Uint8Array[] = [];
      const first = await reader.read();
      parts.push(first.value!);
      // Nothing but the reader moves the app on (no I/O here): let every queued task run, and
      // the app is left waiting on its send with a bounded amount produced.
      await quiesce();
      const stalledAt = produced;
      expect(stalledAt).toBeLessThanOrEqual(3);
      await quiesce();
      expect(produced).toBe(stalledAt);
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        parts.push(next.value);
      }
      const body = Buffer.concat(parts);
      expect(body.byteLength).toBe(piece * chunks);
      expect(sha256(body)).toBe(sha256(patternBytes(piece * chunks)));
    });
  }

  it('a cancelled body is a client that left: send() rejects, receive() says http.disconnect, close() runs once', async () => {
    const { faults, onError } = faultLog();
    let failure: Error | null = null;
    let after: ReceiveMessage | null = null;
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'http') return;
      await receive();
      await send({ type: 'http.response.start', status: 200 });
      try {
        for (;;) await send({ type: 'http.response.body', body: 'tick\n', more_body: true });
      } catch (error) {
        failure = error as Error;
      }
      after = await receive();
    });
    const response = await toFetch(app, { onError })(new Request('http://h/endless'));
    const reader = response.body!.getReader();
    await reader.read();
    await reader.cancel();
    await until(() => after !== null, 'the app to see the disconnect');
    expect(failure!.name).toBe('DisconnectedError');
    expect(after).toEqual({ type: 'http.disconnect' });

    const body = endlessBody(new TextEncoder().encode('y'.repeat(1024)));
    const gatewayApp: GatewayApp = (environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return environ.PATH_INFO === '/endless' ? body : ['short'];
    };
    const gateway = toFetch(gatewayApp, { onError });
    const streamed = (await gateway(new Request('http://h/endless'))).body!.getReader();
    await streamed.read();
    await streamed.cancel();
    await until(() => body.closes > 0, 'close()');
    expect(await (await gateway(new Request('http://h/other'))).text()).toBe('short');
    expect(body.closes).toBe(1);
    expect(faults).toEqual([]);
  });

  it('an aborted request.signal is http.disconnect for an app waiting on receive()', async () => {
    const messages: string[] = [];
    const app = defineEventApp(async (scope, receive) => {
      if (scope.type !== 'http') return;
      messages.push((await receive()).type);
      // A long poll: nothing to send until the client goes away.
      messages.push((await receive()).type);
    });
    const controller = new AbortController();
    const pending = toFetch(app)(new Request('http://h/poll', { signal: controller.signal }));
    await until(() => messages.length === 1, 'the body message');
    controller.abort();
    await until(() => messages.length === 2, 'http.disconnect');
    expect(messages).toEqual(['http.request', 'http.disconnect']);
    // The handler's promise settles all the same (nobody reads the answer).
    expect((await pending).status).toBe(499);
  });

  it('answers HEAD without a body, with the length a GET would have', async () => {
    const eventApp = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await sendText(send, 200, 'twelve bytes');
    });
    const gatewayApp: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['eleven', ' more'];
    };
    for (const [app, length] of [
      [eventApp, '12'],
      [gatewayApp, '11'],
    ] as const) {
      const response = await toFetch(app)(new Request('http://h/', { method: 'HEAD' }));
      expect(response.status).toBe(200);
      expect(response.body).toBeNull();
      expect(response.headers.get('content-length')).toBe(length);
    }
  });

  it('keeps several Set-Cookie headers apart', async () => {
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await sendText(send, 200, 'cookies', [
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; HttpOnly'],
      ]);
    });
    const response = await toFetch(app)(new Request('http://h/'));
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
  });

  it('answers 500 for an app that raises before responding; after it started, the body stream errors', async () => {
    const { faults, onError } = faultLog();
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      if (scope.path === '/early') throw new Error('early failure');
      if (scope.path === '/silent') return;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'first part', more_body: true });
      throw new Error('late failure');
    });
    const handler = toFetch(app, { onError });
    const early = await handler(new Request('http://h/early'));
    expect(early.status).toBe(500);
    expect(await early.text()).toBe('Internal Server Error\n');
    const silent = await handler(new Request('http://h/silent'));
    expect(silent.status).toBe(500);
    const late = await handler(new Request('http://h/late'));
    expect(late.status).toBe(200);
    const reader = late.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('first part');
    await expect(reader.read()).rejects.toThrow('late failure');
    expect(faults.map((fault) => fault.error.message)).toEqual([
      'early failure',
      expect.stringContaining('the app returned without sending a whole response'),
      'late failure',
    ]);
    expect(faults[0]!.scope?.path).toBe('/early');
  });

  it('runs the lifespan through startup()/shutdown(), and is its own { fetch } object', async () => {
    const events: string[] = [];
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        events.push((await receive()).type);
        scope.state.greeting = 'from startup';
        await send({ type: 'lifespan.startup.complete' });
        events.push((await receive()).type);
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type === 'http') await sendJson(send, scope.state);
    });
    const handler = toFetch(app);
    await handler.startup();
    const worker = { fetch: handler.fetch };
    expect(await (await worker.fetch(new Request('http://h/'))).json()).toEqual({ greeting: 'from startup' });
    await handler.shutdown();
    expect(events).toEqual(['lifespan.startup', 'lifespan.shutdown']);
  });

  it('loads none of the Node server: dist/bridges/to-fetch.js imports only shared code', () => {
    const seen = new Set<string>();
    const builtins = new Set<string>();
    const walk = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const match of source.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm)) {
        const specifier = (match[1] ?? match[2])!;
        if (specifier.startsWith('.')) walk(path.resolve(path.dirname(file), specifier));
        else builtins.add(specifier);
      }
    };
    walk(path.join(root, 'dist', 'bridges', 'to-fetch.js'));
    const modules = [...seen].map((file) => path.relative(path.join(root, 'dist'), file));
    expect(modules).toContain('bridges/to-fetch/exchange.js');
    expect(modules.filter((module) => /^(server|acceptors|supervisor|cli|metrics|settings)\//.test(module))).toEqual([]);
    // node:http only for STATUS_CODES in event/headers.js, which the gateway bridge uses; Deno,
    // Bun and Workers (nodejs_compat) provide it.
    expect([...builtins]).toEqual(['node:http']);
  });
});

describe("the package entry 'tsgi'", () => {
  it('exports toNodeHandler and toFetch', async () => {
    // A specifier in a variable: resolved by Node through package.json's exports, as for a user.
    const name = 'tsgi';
    const tsgi = (await import(name)) as Record<string, unknown>;
    expect(typeof tsgi.toNodeHandler).toBe('function');
    expect(typeof tsgi.toFetch).toBe('function');
  });
});

// --- toFetch on Deno --------------------------------------------------------------------------------

const denoBin = path.join(root, 'node_modules', '.bin', 'deno');
const denoProbe = spawnSync(denoBin, ['--version'], { encoding: 'utf8', timeout: 120_000 });
const denoUnavailable =
  denoProbe.status === 0 ? null : `deno cannot start here (${denoProbe.error?.message ?? `exit ${denoProbe.status}: ${denoProbe.stderr}`})`;

describe.skipIf(denoUnavailable !== null)(
  denoUnavailable === null ? 'toFetch served by Deno.serve' : `toFetch served by Deno.serve — skipped: ${denoUnavailable}`,
  () => {
    let child: ChildProcess;
    let stdout = '';
    let stderr = '';
    let eventUrl = '';
    let gatewayUrl = '';
    let exited: Promise<number | null>;

    beforeAll(async () => {
      // --no-lock: no deno.lock is written into the repository. Deno reads package.json in the
      // working directory, so the fixture's bare imports resolve from node_modules.
      child = spawn(denoBin, ['run', '--no-lock', '--allow-net', 'test/fixtures/to-fetch-deno.mjs'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const ports = await new Promise<[string, string]>((resolve, reject) => {
        child.stdout!.on('data', (chunk: Buffer) => {
          stdout += chunk.toString();
          const match = /listening (\d+) (\d+)/.exec(stdout);
          if (match) resolve([match[1]!, match[2]!]);
        });
        void exited.then((code) => reject(new Error(`deno exited with ${code} before listening: ${stderr}`)));
      });
      eventUrl = `http://127.0.0.1:${ports[0]}`;
      gatewayUrl = `http://127.0.0.1:${ports[1]}`;
    }, 120_000);

    afterAll(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    const seen = async () => (await fetch(`${eventUrl}/seen`)).json() as Promise<Record<string, unknown>>;

    it('gives an event app its scope: client from Deno, state from the lifespan', async () => {
      const scope = (await (await fetch(`${eventUrl}/scope?x=1`)).json()) as HttpScope & { runtime: string };
      expect(scope).toMatchObject({
        type: 'http',
        method: 'GET',
        scheme: 'http',
        path: '/scope',
        query_string: 'x=1',
        state: { greeting: 'hello from lifespan' },
        client: ['127.0.0.1', expect.any(Number)],
      });
      expect(scope.runtime).toMatch(/^deno \d/);
    });

    it('echoes a 4 MiB upload as a stream, intact', async () => {
      const payload = patternBytes(4 * MiB);
      const response = await fetch(`${eventUrl}/echo`, { method: 'POST', body: payload });
      expect(response.status).toBe(200);
      expect(sha256(Buffer.from(await response.arrayBuffer()))).toBe(sha256(payload));
    });

    it('streams a response chunked, and sends a one-message body whole with its length', async () => {
      const conn = await RawConn.open(Number(new URL(eventUrl).port));
      conn.write(GET('/stream?count=50'));
      const streamed = await conn.read();
      expect(streamed.header('transfer-encoding')).toEqual(['chunked']);
      const lines = streamed.body.toString().split('\n');
      expect(lines).toHaveLength(52);
      expect(lines[49]).toBe('line 50');
      conn.write(GET('/cookies'));
      const whole = await conn.read();
      expect(whole.header('content-length')).toEqual(['7']);
      expect(whole.header('set-cookie')).toEqual(['a=1; Path=/', 'b=2; HttpOnly']);
      conn.write('HEAD /stream?count=2 HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await conn.read({ head: true });
      expect(head.header('content-length')).toEqual([String('line 1\nline 2\nend\n'.length)]);
      conn.destroy();
    });

    it('answers 500 when the app raises, and reports it', async () => {
      const response = await fetch(`${eventUrl}/fail`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('Internal Server Error\n');
      expect((await seen()).faults).toEqual(['the app failed on purpose']);
    });

    it('serves a gateway app: environ, streamed input, a 1 MiB echo', async () => {
      expect(await (await fetch(`${gatewayUrl}/a%20b?q=1`)).text()).toBe('gateway GET /a b?q=1 from 127.0.0.1');
      const payload = patternBytes(MiB);
      const echoed = await fetch(`${gatewayUrl}/echo`, { method: 'POST', body: payload });
      expect(sha256(Buffer.from(await echoed.arrayBuffer()))).toBe(sha256(payload));
    });

    it('a client that leaves mid-stream: the event app sees send() reject and http.disconnect, the gateway body is closed once', async () => {
      for (const url of [eventUrl, gatewayUrl]) {
        const conn = await RawConn.open(Number(new URL(url).port));
        conn.write(GET('/endless'));
        await conn.waitFor(() => conn.pending().length > 256 * 1024);
        conn.destroy();
      }
      let last: Record<string, unknown> = {};
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        last = await seen();
        if (last.disconnects === 1 && last.gatewayCloses === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(last).toMatchObject({ sendRejected: 1, disconnects: 1, gatewayCloses: 1 });
      // Another gateway exchange later, close() has still run once.
      await (await fetch(`${gatewayUrl}/again`)).text();
      expect((await seen()).gatewayCloses).toBe(1);
    });

    it('runs the lifespan shutdown when the Deno server stops', async () => {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('shutdown complete (1 lifespan shutdown)');
    });
  },
);
