/**
 * Event apps over websockets (ASGI websocket spec 2.5 semantics): the handshake, subprotocols,
 * accept headers, refusal, closes both ways, the message-size limit, idle timeout and pings,
 * backpressure both ways, faults, protocol misuse, many clients at once, the scope and shutdown —
 * over real sockets on both backends, with the `ws` client and raw TCP.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  defineEventApp,
  type Environ,
  type EventApp,
  type ReceiveMessage,
  type Scope,
  type ServeOptions,
  type StartResponse,
  type WebSocketScope,
} from '../src/index.js';
import { BACKENDS, describeBackends, delay, eventually, parseResponses, rawRequest, startServer, type TestServer, type BackendName, traitsOf } from './helpers.js';
import { connect, refused, TestClient, wsUrl, type Closed } from './ws-client.js';

// --- helpers ---------------------------------------------------------------------------------

type Backend = BackendName;

const KiB = 1024;
const MiB = 1024 * 1024;

/** Serves `app` as an event app; lifespan is off unless asked for. */
function serveEvent(app: EventApp, backend: Backend, options: ServeOptions = {}): Promise<TestServer> {
  return startServer(defineEventApp(app), backend, { lifespan: 'off', ...options });
}

interface EchoRecord {
  scope?: WebSocketScope;
  /** Whether binary messages reached the app as Buffers. */
  buffers?: boolean[];
  /** The message that ended the app's receive loop. */
  disconnect?: ReceiveMessage;
}

/** Accepts, then echoes every message in kind until the connection ends. */
function echoApp(record: EchoRecord = {}): EventApp {
  return async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    record.scope = scope;
    await receive();
    await send({ type: 'websocket.accept' });
    for (;;) {
      const message = await receive();
      if (message.type !== 'websocket.receive') {
        record.disconnect = message;
        return;
      }
      if (message.text !== undefined) {
        await send({ type: 'websocket.send', text: message.text });
      } else {
        (record.buffers ??= []).push(Buffer.isBuffer(message.bytes));
        await send({ type: 'websocket.send', bytes: message.bytes! });
      }
    }
  };
}

const HANDSHAKE =
  'Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

// --- per backend -----------------------------------------------------------------------------

describeBackends('event websockets on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('accepts and echoes text as text and bytes as bytes', async () => {
    const record: EchoRecord = {};
    server = await serveEvent(echoApp(record), backend);
    const client = await connect(wsUrl(server.port, '/echo'));
    client.send('héllo ✓');
    expect(await client.next()).toBe('héllo ✓');
    client.send(Uint8Array.from([0, 1, 2, 255]));
    const bytes = await client.next();
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect([...(bytes as Buffer)]).toEqual([0, 1, 2, 255]);
    const big = Buffer.alloc(300 * KiB, 7);
    client.send(big);
    expect(((await client.next()) as Buffer).equals(big)).toBe(true);
    client.send('');
    expect(await client.next()).toBe('');
    await client.close();
    // Binary messages reach the app as Buffers (Uint8Arrays) on both backends.
    expect(record.buffers).toEqual([true, true]);
  });

  it('negotiates a subprotocol the client offered and lists the offers in the scope', async () => {
    let offered: string[] = [];
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      offered = scope.subprotocols;
      await receive();
      await send({ type: 'websocket.accept', subprotocol: 'two' });
      await receive();
    }, backend);
    const client = await connect(wsUrl(server.port), ['one', 'two']);
    expect(client.ws.protocol).toBe('two');
    expect((await client.opened).headers['sec-websocket-protocol']).toBe('two');
    expect(offered).toEqual(['one', 'two']);
    await client.close();
  });

  it("sends the app's accept headers with the 101", async () => {
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      // Names and values may also be bytes (ASGI's byte strings), read as latin1.
      const cookie = [Buffer.from('Set-Cookie'), Buffer.from('id=1')] as unknown as [string, string];
      await send({ type: 'websocket.accept', headers: [['X-Room', 'lobby'], cookie] });
      await receive();
    }, backend);
    const client = await connect(wsUrl(server.port));
    const response = await client.opened;
    expect(response.statusCode).toBe(101);
    expect(response.headers['x-room']).toBe('lobby');
    expect(response.headers['set-cookie']).toEqual(['id=1']);
    await client.close();
  });

  it('answers 403 when the app closes before accepting; receive() then says disconnect', async () => {
    let after: ReceiveMessage | null = null;
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.close', code: 4000 });
      after = await receive();
    }, backend);
    const refusal = await refused(wsUrl(server.port));
    expect(refusal.status).toBe(403);
    expect(refusal.body).toBe('Forbidden\n');
    expect(await eventually(() => after !== null)).toBe(true);
    expect(after).toEqual({ type: 'websocket.disconnect', code: 1006, reason: '' });
    expect(server.errors).toEqual([]);
  });

  it('closes with the code and reason the app gives, after the messages it sent first', async () => {
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: 'last words' });
      await send({ type: 'websocket.close', code: 4001, reason: 'done here' });
    }, backend);
    const client = await connect(wsUrl(server.port));
    expect(await client.next()).toBe('last words');
    expect(await client.closed).toEqual({ code: 4001, reason: 'done here' });
  });

  it("delivers the client's close code and reason to the app", async () => {
    const record: EchoRecord = {};
    server = await serveEvent(echoApp(record), backend);
    const client = await connect(wsUrl(server.port));
    client.send('ping');
    await client.next();
    expect(await client.close(4002, 'client leaving')).toEqual({ code: 4002, reason: 'client leaving' });
    expect(await eventually(() => record.disconnect !== undefined)).toBe(true);
    expect(record.disconnect).toEqual({ type: 'websocket.disconnect', code: 4002, reason: 'client leaving' });
  });

  it('ends a connection whose message is over wsMaxMessageSize and keeps serving others', async () => {
    const record: EchoRecord = {};
    server = await serveEvent(echoApp(record), backend, { wsMaxMessageSize: 1024 });
    const client = await connect(wsUrl(server.port));
    client.send(Buffer.alloc(1024, 1));
    expect(((await client.next()) as Buffer).byteLength).toBe(1024);
    client.send(Buffer.alloc(1025, 2));
    // ws sends a 1009 close frame; uWS closes the TCP connection without one (the client sees 1006).
    const expected = traitsOf(backend).webSocketCloseFrames ? 1009 : 1006;
    expect((await client.closed).code).toBe(expected);
    expect(await eventually(() => record.disconnect !== undefined)).toBe(true);
    expect((record.disconnect as { code: number }).code).toBe(expected);
    const other = await connect(wsUrl(server.port));
    other.send('still here');
    expect(await other.next()).toBe('still here');
    await other.close();
  });

  it('send() waits while the client does not read: the app gets at most the limit (plus socket buffers) ahead', async () => {
    const message = 64 * KiB;
    const count = 1024; // 64 MiB in all
    const limit = 1 * MiB;
    let sent = 0;
    let done = false;
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept' });
      for (let i = 0; i < count; i++) {
        await send({ type: 'websocket.send', bytes: Buffer.alloc(message, i % 256) });
        sent += message;
      }
      done = true;
      await send({ type: 'websocket.close' });
    }, backend, { wsMaxBackpressure: limit });
    const client = new TestClient(wsUrl(server.port));
    client.ws.once('open', () => client.ws.pause());
    await client.opened;
    // Wait until the app stops getting ahead.
    let last = -1;
    while (sent !== last) {
      last = sent;
      await delay(300);
    }
    const ahead = sent - client.receivedBytes;
    expect(done).toBe(false);
    // The kernel's socket buffers (server send + client receive) hold a few MiB more than the
    // limit on Linux (measured ~3.6 MiB); without backpressure the app would be 64 MiB ahead.
    expect(ahead).toBeGreaterThanOrEqual(limit);
    expect(ahead).toBeLessThan(limit + message + 8 * MiB);
    client.ws.resume();
    for (let i = 0; i < count; i++) {
      const received = (await client.next()) as Buffer;
      expect(received.byteLength).toBe(message);
      if (received[0] !== i % 256) expect.fail(`message ${i} arrived out of order (starts with ${received[0]})`);
    }
    expect(await client.closed).toEqual({ code: 1000, reason: '' });
    expect(done).toBe(true);
  });

  it('a slow reader: node stops reading the client and delivers everything later, uws closes with 1008 past its bound', async () => {
    // node: 40 MiB the app does not read yet. uws: more messages than the 4096 it may hold unread.
    const message = traitsOf(backend).webSocketPause ? 64 * KiB : 100;
    const total = traitsOf(backend).webSocketPause ? 640 : 6000;
    let received = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let ended: ReceiveMessage | null = null;
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept' });
      await gate;
      for (;;) {
        const next = await receive();
        if (next.type !== 'websocket.receive') {
          ended = next;
          return;
        }
        if (++received === total) await send({ type: 'websocket.send', text: `got ${received}` });
      }
    }, backend);
    const client = await connect(wsUrl(server.port));
    const payload = Buffer.alloc(message, 120);
    for (let i = 0; i < total; i++) client.send(payload);
    if (traitsOf(backend).webSocketPause) {
      await delay(500);
      // The server took its queue's worth (1 MiB) plus what the kernel buffers, and left the rest
      // with the client: most of the 40 MiB is still unsent.
      expect(client.ws.bufferedAmount).toBeGreaterThan(20 * MiB);
      release();
      expect(await client.next()).toBe(`got ${total}`);
      await client.close();
    } else {
      const closed = await client.closed;
      expect(closed.code).toBe(1008);
      release();
      expect(await eventually(() => ended !== null)).toBe(true);
      expect(received).toBeLessThan(total);
      expect(server.errors.join('')).toContain('closed with 1008');
    }
  });

  it('rejects protocol misuse with ProtocolError and logs it', async () => {
    const outcomes: string[] = [];
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      const attempt = async (message: unknown): Promise<void> => {
        try {
          await send(message as Parameters<typeof send>[0]);
          outcomes.push('no error');
        } catch (error) {
          outcomes.push(describeError(error));
        }
      };
      await attempt({ type: 'websocket.send', text: 'too early' });
      await attempt({ type: 'websocket.accept', subprotocol: 'never-offered' });
      await attempt({ type: 'websocket.accept', headers: [['Connection', 'close']] });
      await attempt({ type: 'websocket.accept', headers: [['Sec-WebSocket-Protocol', 'x']] });
      await send({ type: 'websocket.accept' });
      await attempt({ type: 'websocket.accept' });
      await attempt({ type: 'websocket.bogus' });
      await attempt({ type: 'websocket.send', text: 'a', bytes: new Uint8Array(1) });
      await attempt({ type: 'websocket.send' });
      await attempt({ type: 'websocket.close', code: 1006 });
      await attempt(null);
      await send({ type: 'websocket.close', code: 4000 });
      await attempt({ type: 'websocket.send', text: 'too late' });
    }, backend);
    const client = await connect(wsUrl(server.port));
    expect((await client.closed).code).toBe(4000);
    expect(await eventually(() => outcomes.length === 11)).toBe(true);
    for (const outcome of outcomes) expect(outcome).toMatch(/^ProtocolError: /);
    expect(outcomes[0]).toContain('before websocket.accept');
    expect(outcomes[1]).toContain('never-offered');
    expect(outcomes[2]).toContain('hop-by-hop');
    expect(outcomes[3]).toContain('subprotocol');
    expect(outcomes[4]).toContain('twice');
    expect(outcomes[5]).toContain('websocket.bogus');
    expect(outcomes[6]).toContain('exactly one of');
    expect(outcomes[7]).toContain('exactly one of');
    expect(outcomes[8]).toContain('1000-1003');
    expect(outcomes[9]).toContain('"type"');
    expect(outcomes[10]).toContain('after websocket.close');
    const log = server.errors.join('');
    for (const outcome of outcomes) expect(log).toContain(outcome.slice('ProtocolError: '.length));
  });

  it('answers 500 when the app raises before accepting, and logs the stack', async () => {
    server = await serveEvent(async (scope, receive) => {
      if (scope.type !== 'websocket') return;
      await receive();
      throw new Error('boom before accept');
    }, backend);
    const refusal = await refused(wsUrl(server.port));
    expect(refusal.status).toBe(500);
    expect(refusal.body).not.toContain('boom');
    expect(await eventually(() => server!.errors.join('').includes('boom before accept'))).toBe(true);
    expect(server.errors.join('')).toContain('event-websocket.test.ts');
  });

  it('closes with 1011 when the app raises after accepting, and logs it', async () => {
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      await send({ type: 'websocket.accept' });
      await receive();
      throw new Error('boom after accept');
    }, backend);
    const client = await connect(wsUrl(server.port));
    client.send('trigger');
    expect((await client.closed).code).toBe(1011);
    expect(server.errors.join('')).toContain('boom after accept');
  });

  it('answers 500 when the app returns without deciding, and closes with 1000 when it returns after accepting', async () => {
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      await receive();
      if (scope.path === '/undecided') return;
      await send({ type: 'websocket.accept' });
      await send({ type: 'websocket.send', text: 'bye' });
    }, backend);
    const refusal = await refused(wsUrl(server.port, '/undecided'));
    expect(refusal.status).toBe(500);
    expect(server.errors.join('')).toContain('returned without accepting or refusing');
    const client = await connect(wsUrl(server.port, '/accepted'));
    expect(await client.next()).toBe('bye');
    expect(await client.closed).toEqual({ code: 1000, reason: '' });
  });

  it('tells the app about a client that left before the decision', async () => {
    const seen: ReceiveMessage[] = [];
    let acceptOutcome = '';
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server = await serveEvent(async (scope, receive, send) => {
      if (scope.type !== 'websocket') return;
      seen.push(await receive());
      await gate;
      seen.push(await receive());
      try {
        await send({ type: 'websocket.accept' });
        acceptOutcome = 'accepted';
      } catch (error) {
        acceptOutcome = describeError(error);
      }
    }, backend);
    const socket = net.connect(server.port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write(`GET /leaving HTTP/1.1\r\n${HANDSHAKE}`);
    expect(await eventually(() => seen.length === 1)).toBe(true);
    socket.destroy();
    await delay(200);
    release();
    expect(await eventually(() => acceptOutcome !== '')).toBe(true);
    expect(seen[0]).toEqual({ type: 'websocket.connect' });
    expect(seen[1]).toMatchObject({ type: 'websocket.disconnect', code: 1006 });
    expect(acceptOutcome).toMatch(/^DisconnectedError: /);
    expect(server.errors).toEqual([]);
  });

  it('serves 250 concurrent clients echoing 20 messages each', async () => {
    server = await serveEvent(echoApp(), backend);
    const url = wsUrl(server.port);
    const clients = await Promise.all(Array.from({ length: 250 }, () => connect(url)));
    await Promise.all(
      clients.map(async (client, k) => {
        for (let i = 0; i < 20; i++) client.send(`${k}:${i}`);
        for (let i = 0; i < 20; i++) expect(await client.next()).toBe(`${k}:${i}`);
      }),
    );
    const closes = await Promise.all(clients.map((client) => client.close(1000)));
    expect(closes.every((closed: Closed) => closed.code === 1000)).toBe(true);
  });

  it('builds the scope: path, raw path, query, lower-case headers, client, server, a copy of the lifespan state', async () => {
    const scopes: WebSocketScope[] = [];
    server = await startServer(
      defineEventApp(async (scope: Scope, receive, send) => {
        if (scope.type === 'lifespan') {
          for (;;) {
            const message = await receive();
            if (message.type === 'lifespan.startup') {
              scope.state.db = 'ready';
              await send({ type: 'lifespan.startup.complete' });
            } else {
              await send({ type: 'lifespan.shutdown.complete' });
              return;
            }
          }
        }
        if (scope.type !== 'websocket') return;
        scopes.push(scope);
        scope.state.touched = true;
        await receive();
        await send({ type: 'websocket.accept' });
        await receive();
      }),
      backend,
      { lifespan: 'on' },
    );
    const client = await connect(wsUrl(server.port, '/caf%C3%A9/room?x=1&y=%20'), [], { headers: { 'X-Custom-Header': 'Value' } });
    const second = await connect(wsUrl(server.port, '/second'));
    const scope = scopes[0]!;
    expect(scope.type).toBe('websocket');
    expect(scope.asgi).toEqual({ version: '3.0', spec_version: '2.5' });
    expect(scope.http_version).toBe('1.1');
    expect(scope.scheme).toBe('ws');
    expect(scope.path).toBe('/café/room');
    expect(scope.raw_path).toBe('/caf%C3%A9/room');
    expect(scope.query_string).toBe('x=1&y=%20');
    expect(scope.root_path).toBe('');
    expect(scope.headers).toContainEqual(['x-custom-header', 'Value']);
    expect(scope.headers).toContainEqual(['upgrade', 'websocket']);
    for (const [name] of scope.headers) expect(name).toBe(name.toLowerCase());
    const localPort = (client.ws as unknown as { _socket: net.Socket })._socket.localPort;
    expect(scope.client).toEqual(['127.0.0.1', traitsOf(backend).peerPort ? localPort : 0]);
    expect(scope.server).toEqual(['127.0.0.1', server.port]);
    expect(scope.subprotocols).toEqual([]);
    expect(scope.extensions).toEqual({});
    // Each connection gets its own shallow copy of the lifespan state.
    expect(scope.state).toEqual({ db: 'ready', touched: true });
    expect(scopes[1]!.state).toEqual({ db: 'ready', touched: true });
    expect(scopes[1]!.state).not.toBe(scope.state);
    await client.close();
    await second.close();
  });

  it('writes an access-log line for the handshake', async () => {
    server = await serveEvent(echoApp(), backend, { accessLog: true });
    const client = await connect(wsUrl(server.port, '/logged?a=1'));
    await client.close();
    expect(server.access.join('')).toContain('"GET /logged?a=1 HTTP/1.1" 101 0');
  });

  it('closes open websockets with 1001 when the server shuts down', async () => {
    const record: EchoRecord = {};
    server = await serveEvent(echoApp(record), backend, { gracefulTimeout: 5 });
    const client = await connect(wsUrl(server.port));
    client.send('x');
    await client.next();
    const started = Date.now();
    await server.close();
    server = null;
    // Well inside the 5 s grace period: websockets do not hold the shutdown up.
    expect(Date.now() - started).toBeLessThan(2500);
    expect((await client.closed).code).toBe(1001);
    expect(record.disconnect).toMatchObject({ type: 'websocket.disconnect', code: 1001 });
  });

  it('leaves upgrade requests to gateway apps as ordinary requests', async () => {
    server = await startServer((environ: Environ, startResponse: StartResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`plain ${environ.HTTP_UPGRADE ?? ''}`];
    }, backend);
    const refusal = await refused(wsUrl(server.port));
    expect(refusal.status).toBe(200);
    expect(refusal.body).toBe('plain websocket');
  });

  it('answers an h2c upgrade request of an event app: node with 400, uws as a plain request', async () => {
    server = await serveEvent(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['Content-Type', 'text/plain']] });
      await send({ type: 'http.response.body', body: 'plain http' });
    }, backend);
    const { text } = await rawRequest(
      server.port,
      'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n',
    );
    const [response] = parseResponses(text);
    if (!traitsOf(backend).servesOtherUpgrades) {
      expect(response!.status).toBe(400);
      expect(response!.body).toContain('only to websocket');
    } else {
      expect(response!.status).toBe(200);
      expect(response!.body).toBe('plain http');
    }
  });
});

// --- timing: one test per backend, run side by side to keep the suite short -------------------

describe('websocket idle timeout and keep-alive pings', () => {
  it.concurrent.each(BACKENDS)(
    'on %s: a silent client is cut after wsIdleTimeout; with wsPing a live one stays',
    async (backend) => {
      const silentRecord: EchoRecord = {};
      const silentServer = await serveEvent(echoApp(silentRecord), backend, { wsIdleTimeout: 8, wsPing: false });
      const pingServer = await serveEvent(echoApp(), backend, { wsIdleTimeout: 8, wsPing: true });
      try {
        const silent = await connect(wsUrl(silentServer.port));
        const kept = await connect(wsUrl(pingServer.port));
        const started = Date.now();
        let silentClosed = false;
        void silent.closed.then(() => (silentClosed = true));
        // uWS's timers tick every 4 s, so 8 s of silence ends the connection after 4-12 s.
        expect(await eventually(() => silentClosed, 14_000)).toBe(true);
        expect((await silent.closed).code).toBe(1006);
        expect(silentRecord.disconnect).toEqual({ type: 'websocket.disconnect', code: 1006, reason: 'WebSocket timed out from inactivity' });
        // The ws client answers pings by itself: well past the timeout it is still connected.
        await delay(Math.max(0, 13_000 - (Date.now() - started)));
        expect(kept.pings).toBeGreaterThanOrEqual(1);
        expect(kept.ws.readyState).toBe(kept.ws.OPEN);
        kept.send('still alive');
        expect(await kept.next()).toBe('still alive');
        await kept.close();
      } finally {
        await silentServer.close();
        await pingServer.close();
      }
    },
    30_000,
  );
});
