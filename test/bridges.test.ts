/**
 * The interface bridges over real sockets: a gateway app served as an event app
 * (gatewayToEvent) and an event app served as a gateway app (eventToGateway) keep each contract's
 * rules as a client sees them.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { defineEventApp, eventToGateway, gatewayToEvent } from '../src/index.js';
import type { Environ, EventApp, GatewayApp, HttpScope } from '../src/index.js';
import { startServer, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';
import { patternBytes, sha256 } from './stream-helpers.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serveEvent(app: EventApp, options = {}): Promise<TestServer> {
  server = await startServer(app, 'llhttp', options);
  return server;
}

async function serveGateway(app: GatewayApp, options = {}): Promise<TestServer> {
  server = await startServer(app, 'llhttp', options);
  return server;
}

describe('gatewayToEvent', () => {
  it('gives the gateway app the environ the server would', async () => {
    let seen: Environ | null = null;
    const app: GatewayApp = (environ, startResponse) => {
      seen = environ;
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [environ['tsgi.input'].read()];
    };
    const { url, port } = await serveEvent(gatewayToEvent(app));
    const response = await fetch(`${url}/a%2Fb/c?x=1`, { method: 'POST', body: 'hello', headers: { 'X-Thing': 'one', 'Content-Type': 'text/x' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello');
    const environ = seen as unknown as Environ;
    expect(environ.REQUEST_METHOD).toBe('POST');
    expect(environ.SCRIPT_NAME).toBe('');
    expect(environ.PATH_INFO).toBe('/a/b/c');
    expect(environ['tsgi.raw_path']).toBe('/a%2Fb/c');
    expect(environ.QUERY_STRING).toBe('x=1');
    expect(environ.CONTENT_TYPE).toBe('text/x');
    expect(environ.CONTENT_LENGTH).toBe('5');
    expect(environ.HTTP_X_THING).toBe('one');
    expect(environ.SERVER_PORT).toBe(String(port));
    expect(environ.REMOTE_ADDR).toBe('127.0.0.1');
    expect(environ.SERVER_PROTOCOL).toBe('HTTP/1.1');
    expect(environ['tsgi.url_scheme']).toBe('http');
    expect(environ['tsgi.version']).toEqual([1, 0]);
  });

  it('sends an array body whole with a Content-Length', async () => {
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('201 Created', [['X-App', 'yes']]);
      return ['a', 'bc'];
    };
    const { port } = await serveEvent(gatewayToEvent(app));
    const conn = await RawConn.open(port);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read();
    expect(response.status).toBe(201);
    expect(response.header('content-length')).toEqual(['3']);
    expect(response.header('x-app')).toEqual(['yes']);
    expect(response.body.toString()).toBe('abc');
    conn.destroy();
  });

  it('streams a generator body chunked, with a lazy startResponse and the legacy write()', async () => {
    const app: GatewayApp = (_environ, startResponse) => {
      return (function* () {
        const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
        write('w1-');
        yield 'one-';
        yield '';
        yield Buffer.from('two');
      })();
    };
    const { port } = await serveEvent(gatewayToEvent(app));
    const conn = await RawConn.open(port);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read();
    expect(response.header('transfer-encoding')).toEqual(['chunked']);
    expect(response.body.toString()).toBe('w1-one-two');
    conn.destroy();
  });

  it('streams a large upload to an async app and answers with its hash', async () => {
    const app: GatewayApp = async (environ, startResponse) => {
      const hash = (await import('node:crypto')).createHash('sha256');
      let size = 0;
      for await (const chunk of environ['tsgi.input']) {
        hash.update(chunk);
        size += chunk.byteLength;
      }
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${size} ${hash.digest('hex')}`];
    };
    const { url } = await serveEvent(gatewayToEvent(app));
    const body = patternBytes(5 * 1024 * 1024);
    const response = await fetch(url, { method: 'POST', body });
    expect(await response.text()).toBe(`${body.byteLength} ${sha256(body)}`);
  });

  it('answers 413 for a buffered app whose body passes maxBodySize, without calling it', async () => {
    let called = false;
    const app: GatewayApp = (_environ, startResponse) => {
      called = true;
      startResponse('200 OK', []);
      return [];
    };
    const { url } = await serveEvent(gatewayToEvent(app, { maxBodySize: 10 }));
    const declared = await fetch(url, { method: 'POST', body: 'x'.repeat(11) });
    expect(declared.status).toBe(413);
    const streamed = await fetch(url, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('x'.repeat(8)));
          controller.enqueue(new TextEncoder().encode('x'.repeat(8)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(called).toBe(false);
    const small = await fetch(url, { method: 'POST', body: 'x'.repeat(10) });
    expect(small.status).toBe(200);
  });

  it('gives a 500 when the app raises before responding, and replaces the head with excInfo', async () => {
    const failing: GatewayApp = () => {
      throw new Error('boom');
    };
    const { url, errors } = await serveEvent(gatewayToEvent(failing));
    expect((await fetch(url)).status).toBe(500);
    expect(errors.join('')).toContain('boom');
    await server!.close();
    const recovering: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      try {
        throw new Error('late');
      } catch (error) {
        startResponse('503 Service Unavailable', [['Content-Type', 'text/plain']], error);
        return ['sorry'];
      }
    };
    const second = await serveEvent(gatewayToEvent(recovering));
    const response = await fetch(second.url);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('sorry');
  });

  it('calls close() once when the body ends and once when the client leaves mid-stream', async () => {
    let closes = 0;
    let produced = 0;
    const app: GatewayApp = (environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      const endless = environ.PATH_INFO === '/endless';
      const body = (function* () {
        for (let i = 0; endless || i < 3; i++) {
          produced++;
          yield Buffer.alloc(64 * 1024, 1);
        }
      })();
      return Object.assign(body, { close: () => void closes++ });
    };
    const { url, port } = await serveEvent(gatewayToEvent(app));
    expect((await (await fetch(url)).arrayBuffer()).byteLength).toBe(3 * 64 * 1024);
    expect(closes).toBe(1);
    const socket = net.connect(port, '127.0.0.1');
    socket.write('GET /endless HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.destroy();
    await expect.poll(() => closes, { timeout: 5000 }).toBe(2);
    const producedAtClose = produced;
    // Backpressure: a client that read one chunk did not make the endless body run away.
    expect(producedAtClose).toBeLessThan(1000);
  });

  it('answers HEAD with the head only, without running the body past its first chunk', async () => {
    let produced = 0;
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        for (;;) {
          produced++;
          yield 'x';
        }
      })();
    };
    const { port } = await serveEvent(gatewayToEvent(app));
    const conn = await RawConn.open(port);
    conn.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read({ head: true });
    expect(response.status).toBe(200);
    expect(response.body.byteLength).toBe(0);
    expect(produced).toBe(1);
    conn.destroy();
  });

  it('refuses websockets (403) and answers lifespan for the gateway app', async () => {
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', []);
      return ['ok'];
    };
    const { port, url } = await serveEvent(gatewayToEvent(app), { lifespan: 'on' });
    expect(await (await fetch(url)).text()).toBe('ok');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the websocket was accepted')));
      ws.once('error', () => {});
    });
    expect(status).toBe(403);
  });
});

describe('eventToGateway', () => {
  const echo = defineEventApp(async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    const parts: Uint8Array[] = [];
    for (;;) {
      const message = await receive();
      if (message.type !== 'http.request') break;
      parts.push(message.body);
      if (!message.more_body) break;
    }
    const http = scope as HttpScope;
    await send({
      type: 'http.response.start',
      status: 200,
      headers: [
        ['content-type', 'text/plain'],
        ['x-path', http.path],
        ['x-raw-path', http.raw_path],
        ['x-root-path', http.root_path],
        ['x-query', http.query_string],
        ['x-header', http.headers.find(([name]) => name === 'x-thing')?.[1] ?? ''],
        ['x-client', http.client?.[0] ?? ''],
      ],
    });
    await send({ type: 'http.response.body', body: Buffer.concat(parts) });
  });

  it('gives the event app a scope from the environ and sends its single body whole', async () => {
    const { port } = await serveGateway(eventToGateway(echo));
    const conn = await RawConn.open(port);
    conn.write('POST /a%2Fb?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing: one\r\nContent-Length: 5\r\n\r\nhello');
    const response = await conn.read();
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('hello');
    expect(response.header('content-length')).toEqual(['5']);
    expect(response.header('x-path')).toEqual(['/a/b']);
    expect(response.header('x-raw-path')).toEqual(['/a%2Fb']);
    expect(response.header('x-root-path')).toEqual(['']);
    expect(response.header('x-query')).toEqual(['q=1']);
    expect(response.header('x-header')).toEqual(['one']);
    expect(response.header('x-client')).toEqual(['127.0.0.1']);
    conn.destroy();
  });

  it('streams more_body messages as chunks, one send() per pull', async () => {
    let sent = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: 'first ', more_body: true });
      sent++;
      await gate;
      await send({ type: 'http.response.body', body: 'second', more_body: true });
      sent++;
      await send({ type: 'http.response.body', body: '' });
    });
    const { port } = await serveGateway(eventToGateway(app));
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect.poll(() => received.includes('first '), { timeout: 5000 }).toBe(true);
    expect(received.toLowerCase()).toContain('transfer-encoding: chunked');
    expect(received).not.toContain('second');
    release();
    await expect.poll(() => received.endsWith('0\r\n\r\n'), { timeout: 5000 }).toBe(true);
    expect(received).toContain('second');
    expect(sent).toBe(2);
    socket.destroy();
  });

  it('gives a 500 when the event app raises before responding or returns without a response', async () => {
    const raising = defineEventApp(async () => {
      throw new Error('event boom');
    });
    const silent = defineEventApp(async () => {});
    const { url, errors } = await serveGateway(eventToGateway(raising));
    expect((await fetch(url)).status).toBe(500);
    expect(errors.join('')).toContain('event boom');
    await server!.close();
    const second = await serveGateway(eventToGateway(silent));
    expect((await fetch(second.url)).status).toBe(500);
    expect(second.errors.join('')).toContain('without sending a response');
  });

  it('round-trips: a gateway app through both bridges behaves as itself', async () => {
    const app: GatewayApp = (environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${environ.REQUEST_METHOD} ${environ.PATH_INFO} ${environ.QUERY_STRING} ${new TextDecoder().decode(environ['tsgi.input'].read())}`];
    };
    const { url } = await serveGateway(eventToGateway(gatewayToEvent(app)));
    const response = await fetch(`${url}/x/y?z=1`, { method: 'PUT', body: 'data' });
    expect(await response.text()).toBe('PUT /x/y z=1 data');
  });
});
