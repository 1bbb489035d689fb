/**
 * Node request listeners on tsgi (fromNodeHandler, --interface node): what a plain `(req, res)`
 * listener does with `http.IncomingMessage` and `http.ServerResponse`, over real sockets on every
 * backend; Express behind tsgi's proxy settings and under `mount`; and the command line serving an
 * Express app (auto) and a bare listener (--interface node). The frameworks and their middleware
 * have their own file (node-frameworks.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import connect from 'connect';
import express from 'express';
import Koa from 'koa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fromNodeHandler, isNodeHandler, type EventApp, type NodeListener, type ServeOptions } from '../src/index.js';
import { mount } from '../src/middleware/index.js';
import { makeCerts } from './certs.js';
import { killChildren, start, type Running } from './cli-process.js';
import { describeBackends, eventually, startServer, traitsOf, type BackendName, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

let server: TestServer | null = null;
/** Set by a test that makes the server log on purpose; every other test leaves the log empty. */
let errorsExpected = false;
afterEach(async () => {
  const errors = server?.errors ?? [];
  await server?.close();
  server = null;
  const expected = errorsExpected;
  errorsExpected = false;
  if (!expected) expect(errors).toEqual([]);
});

/**
 * Set while the battery runs behind a middleware that wraps `send()`: the bridge then cannot use
 * the server's own send directly and takes its general path, one awaited message at a time.
 */
let behindMiddleware = false;

/** A plain listener served with `interface: 'node'`, as `--interface node` serves one. */
async function serveListener(listener: NodeListener, backend: BackendName, options: ServeOptions = {}): Promise<TestServer> {
  if (behindMiddleware) {
    const inner = fromNodeHandler(listener);
    const wrapped: EventApp = (scope, receive, send) => inner(scope, receive, (message) => send(message));
    server = await startServer(wrapped, backend, { interface: 'event', ...options });
  } else {
    server = await startServer(listener as unknown as EventApp, backend, { interface: 'node', ...options });
  }
  return server;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** One GET on a fresh raw connection, the response parsed. */
async function rawGet(port: number, target: string, extra = ''): Promise<import('./raw-conn.js').RawResponse> {
  const conn = await RawConn.open(port);
  conn.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`);
  const response = await conn.read();
  conn.destroy();
  return response;
}

/** The server still answers: a fresh request after whatever the test did to the last one. */
async function stillServes(url: string): Promise<void> {
  const response = await fetch(`${url}/still-serving`);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('still serving');
}

function stillServing(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/still-serving') return false;
  res.end('still serving');
  return true;
}

describeBackends('a Node listener on %s', (backend) => listenerBattery(backend));

describe('a Node listener on llhttp behind a middleware that wraps send()', () => {
  beforeAll(() => {
    behindMiddleware = true;
  });
  afterAll(() => {
    behindMiddleware = false;
  });
  listenerBattery('llhttp');
});

function listenerBattery(backend: BackendName): void {
  const traits = traitsOf(backend);

  describe('response heads', () => {
    it('takes writeHead with a header object, a flat array and an array of pairs; Set-Cookie stays several', async () => {
      const { url } = await serveListener((req, res) => {
        if (req.url === '/object') res.writeHead(201, { 'X-One': '1', 'Set-Cookie': ['a=1', 'b=2'] });
        else if (req.url === '/flat') res.writeHead(202, ['X-One', '1', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
        else if (req.url === '/pairs') res.writeHead(203, [['X-One', '1'], ['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']] as unknown as string[]);
        else {
          // setHeader first, then a flat array: both reach the client.
          res.setHeader('X-Early', 'early');
          res.setHeader('Set-Cookie', ['a=1']);
          res.writeHead(200, ['X-One', '1', 'Set-Cookie', 'b=2']);
        }
        res.end(req.url);
      }, backend);
      for (const [target, status] of [['/object', 201], ['/flat', 202], ['/pairs', 203]] as const) {
        const response = await fetch(url + target);
        expect(response.status).toBe(status);
        expect(response.headers.get('x-one')).toBe('1');
        expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
        expect(await response.text()).toBe(target);
      }
      const mixed = await fetch(`${url}/mixed`);
      expect(mixed.headers.get('x-early')).toBe('early');
      expect(mixed.headers.get('x-one')).toBe('1');
      // writeHead's array replaces a field set before with the same name, as node:http does.
      expect(mixed.headers.getSetCookie()).toEqual(['b=2']);
    });

    it('reads back and removes headers, and sends statusCode with a body whose length it knows', async () => {
      const seen = deferred<unknown>();
      const { url } = await serveListener((_req, res) => {
        res.statusCode = 418;
        res.setHeader('X-Keep', 'kept');
        res.setHeader('X-Drop', 'dropped');
        res.setHeader('X-List', ['a', 'b']);
        res.removeHeader('X-Drop');
        seen.resolve({
          keep: res.getHeader('x-keep'),
          drop: res.hasHeader('x-drop'),
          names: res.getHeaderNames(),
          list: res.getHeader('X-List'),
        });
        res.end('short and stout');
      }, backend);
      const response = await fetch(url);
      expect(response.status).toBe(418);
      expect(response.headers.get('x-keep')).toBe('kept');
      expect(response.headers.get('x-drop')).toBeNull();
      expect(response.headers.get('x-list')).toBe('a, b');
      // res.end(data) in one turn goes out as one whole body: Content-Length, not chunked.
      expect(response.headers.get('content-length')).toBe('15');
      expect(await response.text()).toBe('short and stout');
      expect(await seen.promise).toEqual({ keep: 'kept', drop: false, names: ['x-keep', 'x-list'], list: ['a', 'b'] });
    });

    // flushHeaders sends the head with an empty first body message. uWS v20 ends a streamed head
    // only with the first body bytes (an empty write would end a chunked body), so there the
    // client sees the head once the body starts.
    it.skipIf(backend === 'uws')('flushHeaders sends the head before any body exists (skipped on uws: uWS v20 sends a streamed head with its first body bytes)', async () => {
      const release = deferred();
      const { port } = await serveListener(async (_req, res) => {
        res.setHeader('X-Flushed', 'yes');
        res.flushHeaders();
        await release.promise;
        res.end('after the head');
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await conn.waitFor(() => conn.pending().includes('\r\n\r\n'));
      expect(conn.pending().toString('latin1').toLowerCase()).toContain('x-flushed: yes');
      release.resolve();
      const response = await conn.read();
      expect(response.body.toString()).toBe('after the head');
      conn.destroy();
    });

    it('sends no body for HEAD, 204 and 304, and the connection goes on', async () => {
      const { port } = await serveListener((req, res) => {
        if (req.url === '/no-content') {
          res.writeHead(204);
          res.end();
        } else if (req.url === '/not-modified') {
          res.writeHead(304, { ETag: '"v1"' });
          res.end();
        } else {
          res.setHeader('Content-Type', 'text/plain');
          res.end('a body for GET only');
        }
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n');
      const head = await conn.read({ head: true });
      expect(head.status).toBe(200);
      expect(head.header('content-type')).toEqual(['text/plain']);
      conn.write('GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await conn.read()).status).toBe(204);
      conn.write('GET /not-modified HTTP/1.1\r\nHost: x\r\n\r\n');
      const notModified = await conn.read();
      expect(notModified.status).toBe(304);
      expect(notModified.header('etag')).toEqual(['"v1"']);
      conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const get = await conn.read();
      expect(get.body.toString()).toBe('a body for GET only');
      conn.destroy();
    });
  });

  describe('streaming responses', () => {
    it('sends each res.write as it is written', async () => {
      const release = deferred();
      const { port } = await serveListener(async (_req, res) => {
        res.setHeader('Content-Type', 'text/plain');
        res.write('first;');
        await release.promise;
        res.write('second;');
        res.end('last');
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      // The second chunk waits for the client to have read the first.
      await conn.waitFor(() => conn.pending().includes('first;'));
      expect(conn.pending().toString()).not.toContain('second;');
      release.resolve();
      const response = await conn.read();
      expect(response.header('transfer-encoding')).toEqual(['chunked']);
      expect(response.body.toString()).toBe('first;second;last');
      conn.destroy();
    });

    it('calls the end callback and emits finish, then close, in the order node:http does on this Node', async () => {
      const listenerRecording = (events: string[], done: () => void) => (req: IncomingMessage, res: ServerResponse) => {
        let left = 2;
        const settle = () => --left === 0 && done();
        // The unread request ends and closes once the response is out, as on node:http.
        req.on('close', settle);
        res.on('finish', () => events.push('finish'));
        res.on('close', () => {
          events.push(`close (writableFinished ${res.writableFinished})`);
          settle();
        });
        res.write('part;');
        res.end('end', () => events.push('end callback'));
      };
      // The reference: the same listener on node:http (Node 20 calls the end callback after
      // 'finish', Node 24 before it).
      const nodeEvents: string[] = [];
      const nodeDone = deferred();
      const reference = http.createServer(listenerRecording(nodeEvents, () => nodeDone.resolve()));
      await new Promise<void>((resolve) => reference.listen(0, '127.0.0.1', resolve));
      try {
        const address = reference.address() as net.AddressInfo;
        expect(await (await fetch(`http://127.0.0.1:${address.port}/`)).text()).toBe('part;end');
        await nodeDone.promise;
      } finally {
        reference.closeAllConnections();
        await new Promise((resolve) => reference.close(resolve));
      }
      const events: string[] = [];
      const done = deferred();
      const { url } = await serveListener(listenerRecording(events, () => done.resolve()), backend);
      expect(await (await fetch(url)).text()).toBe('part;end');
      await done.promise;
      expect(nodeEvents).toContain('close (writableFinished true)');
      expect(events).toEqual(nodeEvents);
    });

    it('pipes a file stream and a slow Readable into res', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgi-node-pipe-'));
      const file = path.join(dir, 'data.bin');
      const contents = randomBytes(3 * 1024 * 1024 + 17);
      fs.writeFileSync(file, contents);
      try {
        const { url } = await serveListener((req, res) => {
          if (req.url === '/file') {
            res.setHeader('Content-Length', String(contents.byteLength));
            fs.createReadStream(file).pipe(res);
            return;
          }
          // A producer that yields a chunk only on a later turn, as a database cursor would.
          let n = 0;
          new Readable({
            read() {
              setImmediate(() => this.push(++n > 50 ? null : `line ${n}\n`));
            },
          }).pipe(res);
        }, backend);
        const fileResponse = await fetch(`${url}/file`);
        expect(sha256(Buffer.from(await fileResponse.arrayBuffer()))).toBe(sha256(contents));
        const slow = await (await fetch(`${url}/slow`)).text();
        expect(slow.split('\n').filter(Boolean)).toHaveLength(50);
        expect(slow.startsWith('line 1\nline 2\n')).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('holds a large response back for a slow reader: write() returns false and the producer waits for drain', async () => {
      const total = 40 * 1024 * 1024;
      const chunk = Buffer.alloc(64 * 1024, 'x');
      const state = { produced: 0, received: 0, refusals: 0, drains: 0, mostAhead: 0 };
      const { port } = await serveListener((_req, res) => {
        res.setHeader('Content-Length', String(total));
        const pump = (): void => {
          while (state.produced < total) {
            state.produced += chunk.byteLength;
            state.mostAhead = Math.max(state.mostAhead, state.produced - state.received);
            if (!res.write(chunk)) {
              state.refusals += 1;
              res.once('drain', () => {
                state.drains += 1;
                pump();
              });
              return;
            }
          }
          res.end();
        };
        pump();
      }, backend);
      // The reader takes a turn of the event loop off after every read, so it lags the producer.
      const socket = net.connect(port, '127.0.0.1');
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      let headSeen = false;
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (data: Buffer) => {
          let bytes = data.byteLength;
          if (!headSeen) {
            headSeen = true;
            bytes -= data.indexOf('\r\n\r\n') + 4;
          }
          state.received += bytes;
          if (state.received >= total) resolve();
          socket.pause();
          setImmediate(() => socket.resume());
        });
        socket.on('error', reject);
      });
      socket.destroy();
      expect(state.received).toBe(total);
      expect(state.refusals).toBeGreaterThan(0);
      expect(state.drains).toBe(state.refusals);
      // Kernel and tsgi buffers hold some of it; without backpressure the producer would have
      // run the whole body ahead of the reader.
      expect(state.mostAhead).toBeLessThan(total / 2);
    });
  });

  describe('trailers', () => {
    it('sends the trailers a listener declared with a Trailer field (res.addTrailers), where the backend has trailers', async () => {
      const { port } = await serveListener((req, res) => {
        const declared = req.url === '/declared';
        res.writeHead(200, declared ? { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' } : { 'Content-Type': 'text/plain' });
        res.write('streamed ');
        res.addTrailers({ 'X-Checksum': 'sum-of-body' });
        res.end('body');
      }, backend);
      const get = (target: string) =>
        new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: target, agent: false }, (response) => {
              let body = '';
              response.setEncoding('utf8');
              response.on('data', (part: string) => (body += part));
              response.on('end', () => resolve({ body, trailers: response.trailers }));
            })
            .on('error', reject);
        });
      expect(await get('/declared')).toEqual({ body: 'streamed body', trailers: traits.trailers ? { 'x-checksum': 'sum-of-body' } : {} });
      // Undeclared, they cannot be announced in time (the head is gone when addTrailers comes).
      expect(await get('/undeclared')).toEqual({ body: 'streamed body', trailers: {} });
    });
  });

  describe('request bodies', () => {
    const digest = (res: ServerResponse, body: Buffer) => res.end(`${body.byteLength} ${sha256(body)}`);

    it('reads a body with on("data"), with for await and through pipe()', async () => {
      const { url } = await serveListener(async (req, res) => {
        const chunks: Buffer[] = [];
        if (req.url === '/data') {
          req.on('data', (part: Buffer) => chunks.push(part));
          req.on('end', () => digest(res, Buffer.concat(chunks)));
        } else if (req.url === '/iterate') {
          for await (const part of req) chunks.push(part as Buffer);
          digest(res, Buffer.concat(chunks));
        } else {
          const sink = new Writable({
            write(part: Buffer, _encoding, done) {
              chunks.push(part);
              done();
            },
          });
          sink.on('finish', () => digest(res, Buffer.concat(chunks)));
          req.pipe(sink);
        }
      }, backend);
      const body = randomBytes(200_000);
      for (const target of ['/data', '/iterate', '/pipe']) {
        const response = await fetch(url + target, { method: 'POST', body });
        expect(await response.text()).toBe(`${body.byteLength} ${sha256(body)}`);
      }
    });

    it('receives a large upload intact, chunked or with a Content-Length', async () => {
      const { url } = await serveListener(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const part of req) chunks.push(part as Buffer);
        res.end(`${req.headers['transfer-encoding'] ?? 'length'} ${sha256(Buffer.concat(chunks))}`);
      }, backend);
      const body = randomBytes(6 * 1024 * 1024 + 3);
      const sized = await fetch(url, { method: 'PUT', body });
      expect(await sized.text()).toBe(`length ${sha256(body)}`);
      const streamed = await fetch(url, {
        method: 'PUT',
        body: Readable.toWeb(Readable.from([body.subarray(0, 1_000_000), body.subarray(1_000_000)])) as ReadableStream,
        duplex: 'half',
      } as RequestInit);
      expect(await streamed.text()).toBe(`chunked ${sha256(body)}`);
    });

    it('answers without reading the body, and the connection stays usable', async () => {
      const { port } = await serveListener((req, res) => {
        res.end(`${req.method} ${req.url}`);
      }, backend);
      const conn = await RawConn.open(port);
      conn.write(`POST /unread HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n${'b'.repeat(20)}`);
      expect((await conn.read()).body.toString()).toBe('POST /unread');
      conn.write('GET /next HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await conn.read()).body.toString()).toBe('GET /next');
      const big = 'c'.repeat(256 * 1024);
      conn.write(`PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\n\r\n${big}`);
      expect((await conn.read()).body.toString()).toBe('PUT /big');
      conn.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await conn.read()).body.toString()).toBe('GET /after');
      conn.destroy();
    });
  });

  describe('what req says about the request', () => {
    it('gives the peer, the version, the URL with its query, and headers folded as node:http folds them', async () => {
      const { port } = await serveListener((req, res) => {
        res.setHeader('Content-Type', 'application/json');
        res.end(
          JSON.stringify({
            remoteAddress: req.socket.remoteAddress,
            remotePort: req.socket.remotePort,
            family: req.socket.remoteFamily,
            sameSocket: req.socket === req.connection && res.socket === req.socket,
            httpVersion: req.httpVersion,
            major: req.httpVersionMajor,
            minor: req.httpVersionMinor,
            method: req.method,
            url: req.url,
            headers: req.headers,
            rawHeaders: req.rawHeaders,
          }),
        );
      }, backend);
      const conn = await RawConn.open(port);
      conn.write(
        'GET /info?a=1&b=%20x HTTP/1.1\r\nHost: x\r\nX-Dup: one\r\nX-Dup: two\r\nCookie: c=1\r\nCookie: d=2\r\n' +
          'User-Agent: first\r\nUser-Agent: second\r\n\r\n',
      );
      const info = JSON.parse((await conn.read()).body.toString());
      expect(info.remoteAddress).toBe('127.0.0.1');
      expect(info.family).toBe('IPv4');
      if (traits.peerPort) expect(info.remotePort).toBe(conn.localPort);
      expect(info.sameSocket).toBe(true);
      expect([info.httpVersion, info.major, info.minor]).toEqual(['1.1', 1, 1]);
      expect(info.method).toBe('GET');
      expect(info.url).toBe('/info?a=1&b=%20x');
      // Duplicates joined with ", ", cookies with "; ", and a single-valued field keeps its first.
      expect(info.headers['x-dup']).toBe('one, two');
      expect(info.headers.cookie).toBe('c=1; d=2');
      expect(info.headers['user-agent']).toBe('first');
      // rawHeaders keeps every line in order (names as tsgi received them, lower-cased).
      const raw = (info.rawHeaders as string[]).map((item, index) => (index % 2 === 0 ? item.toLowerCase() : item));
      expect(raw).toEqual(['host', 'x', 'x-dup', 'one', 'x-dup', 'two', 'cookie', 'c=1', 'cookie', 'd=2', 'user-agent', 'first', 'user-agent', 'second']);
      conn.destroy();
    });

    it.runIf(traits.http10)(`says HTTP/1.0 for a 1.0 request${traits.http10 ? '' : ' (skipped on uws: uWS v20 answers an HTTP/1.0 request with 505)'}`, async () => {
      const { port } = await serveListener((req, res) => res.end(req.httpVersion), backend);
      const conn = await RawConn.open(port);
      conn.write('GET / HTTP/1.0\r\nHost: x\r\n\r\n');
      expect((await conn.read()).body.toString()).toBe('1.0');
      conn.destroy();
    });
  });

  describe('when the client leaves', () => {
    it('tells req and res when the client disconnects mid-response, and serves on', async () => {
      const events: string[] = [];
      const resClosed = deferred();
      const { port, url } = await serveListener((req, res) => {
        if (stillServing(req, res)) return;
        req.on('aborted', () => events.push('req aborted'));
        req.on('close', () => events.push('req close'));
        res.on('finish', () => events.push('res finish'));
        res.on('close', () => {
          events.push('res close');
          resClosed.resolve();
        });
        res.write('first part, and then nothing');
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('GET /hang HTTP/1.1\r\nHost: x\r\n\r\n');
      await conn.waitFor(() => conn.pending().includes('first part'));
      conn.destroy();
      await resClosed.promise;
      expect(events).toContain('req aborted');
      expect(events).toContain('req close');
      expect(events).toContain('res close');
      expect(events).not.toContain('res finish');
      await stillServes(url);
    });

    it("emits 'aborted' on a request whose body never finished arriving", async () => {
      const events: string[] = [];
      const reqClosed = deferred();
      const firstData = deferred();
      const { port, url } = await serveListener((req, res) => {
        if (stillServing(req, res)) return;
        req.on('data', () => firstData.resolve());
        req.on('aborted', () => events.push('aborted'));
        req.on('error', (error: NodeJS.ErrnoException) => events.push(`error ${error.code}`));
        req.on('close', () => {
          events.push(`close (complete ${req.complete})`);
          reqClosed.resolve();
        });
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789');
      await firstData.promise;
      conn.destroy();
      await reqClosed.promise;
      expect(events[0]).toBe('aborted');
      expect(events).toContain('close (complete false)');
      await stillServes(url);
    });
  });

  describe('timeouts', () => {
    it("fires 'timeout' on res.setTimeout and req.setTimeout, and the listener answers", async () => {
      const { port } = await serveListener((req, res) => {
        if (req.url === '/response') {
          res.setTimeout(20, () => {
            res.statusCode = 503;
            res.end('response timed out');
          });
          return;
        }
        // The body stops coming: the request hears it (node:http tells req while its body is due).
        req.resume();
        req.setTimeout(20, () => {
          res.statusCode = 408;
          res.end('request timed out');
        });
      }, backend);
      const answered = await rawGet(port, '/response');
      expect([answered.status, answered.body.toString()]).toEqual([503, 'response timed out']);
      const conn = await RawConn.open(port);
      conn.write('POST /request HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b');
      const slow = await conn.read();
      expect([slow.status, slow.body.toString()]).toEqual([408, 'request timed out']);
      conn.destroy();
    });
  });

  describe('a misbehaving listener', () => {
    it('answers 500 for a listener that throws or rejects, logs it, and serves on', async () => {
      errorsExpected = true;
      const { url, errors } = await serveListener(async (req, res) => {
        if (stillServing(req, res)) return;
        if (req.url === '/throw') throw new Error('the listener threw');
        await Promise.resolve();
        throw new Error('the async listener rejected');
      }, backend);
      expect((await fetch(`${url}/throw`)).status).toBe(500);
      expect((await fetch(`${url}/reject`)).status).toBe(500);
      expect(errors.join('')).toContain('the listener threw');
      expect(errors.join('')).toContain('the async listener rejected');
      await stillServes(url);
    });

    it('survives a write after end: the response goes out whole and the misuse is logged', async () => {
      errorsExpected = true;
      const { url, errors } = await serveListener((req, res) => {
        if (stillServing(req, res)) return;
        res.end('ended');
        res.write('too late');
      }, backend);
      const response = await fetch(`${url}/late`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('ended');
      await stillServes(url);
      expect(errors.join('')).toContain('write after end');
    });

    it('sends an ended response whole when the listener then throws (logged) or destroys the socket (silent)', async () => {
      errorsExpected = true;
      const { url, errors } = await serveListener((req, res) => {
        if (req.url === '/throw') {
          res.end('ended, then threw');
          throw new Error('thrown after end');
        }
        // What Express's finalhandler does for an error raised after res.send().
        res.end('ended, then destroyed');
        req.socket.destroy();
      }, backend);
      expect(await (await fetch(`${url}/throw`)).text()).toBe('ended, then threw');
      expect(await (await fetch(`${url}/destroy`)).text()).toBe('ended, then destroyed');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('thrown after end');
    });

    it('logs an async listener that rejects after its response went out', async () => {
      errorsExpected = true;
      const { url, errors } = await serveListener(async (_req, res) => {
        await new Promise<void>((resolve) => res.end('answered', resolve));
        throw new Error('rejected after the response');
      }, backend);
      expect(await (await fetch(url)).text()).toBe('answered');
      expect(await eventually(() => errors.length > 0)).toBe(true);
      expect(errors.join('')).toContain('rejected after the response');
    });

    it('aborts the connection on res.destroy() mid-stream, and serves on', async () => {
      errorsExpected = true;
      const release = deferred();
      const { port, url } = await serveListener(async (req, res) => {
        if (stillServing(req, res)) return;
        res.write('the start of a body');
        await release.promise;
        res.destroy();
      }, backend);
      const conn = await RawConn.open(port);
      conn.write('GET /destroy HTTP/1.1\r\nHost: x\r\n\r\n');
      await conn.waitFor(() => conn.pending().includes('the start'));
      release.resolve();
      await once(conn.socket, 'close');
      // Chunked, and cut before the last chunk: the client knows the body is incomplete.
      expect(conn.pending().toString()).not.toContain('\r\n0\r\n\r\n');
      await stillServes(url);
    });
  });
}

describe('what differs from node:http', () => {
  it('keeps its own reason phrases, and drops 1xx interim responses without harm', async () => {
    const { port } = await serveListener((req, res) => {
      if (req.url === '/hints') {
        res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
        res.writeProcessing();
        res.end('after the hints');
        return;
      }
      res.writeHead(200, 'Everything Is Fine', { 'Content-Type': 'text/plain' });
      res.end('custom reason');
    }, 'llhttp');
    const conn = await RawConn.open(port);
    conn.write('GET /reason HTTP/1.1\r\nHost: x\r\n\r\n');
    const reason = await conn.read();
    // The event contract carries a status code only: the reason is the standard one.
    expect(reason.statusLine).toBe('HTTP/1.1 200 OK');
    conn.write('GET /hints HTTP/1.1\r\nHost: x\r\n\r\n');
    const hinted = await conn.read();
    expect([hinted.status, hinted.body.toString()]).toEqual([200, 'after the hints']);
    conn.destroy();
  });

  it('refuses a websocket upgrade with 403 (a Node listener has no upgrade event here)', async () => {
    const { port } = await serveListener((_req, res) => res.end('plain http only'), 'llhttp');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
      ws.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      ws.once('open', () => reject(new Error('the websocket was accepted')));
      ws.once('error', () => {});
    });
    expect(status).toBe(403);
  });

  it('recognises Express, connect and Koa apps, and refuses what is not a listener', () => {
    expect(isNodeHandler(express())).toBe(true);
    expect(isNodeHandler(new Koa())).toBe(true);
    expect(isNodeHandler(connect())).toBe(true);
    // A bare (req, res) function looks like a gateway app: it needs --interface node.
    expect(isNodeHandler((_req: IncomingMessage, res: ServerResponse) => res.end())).toBe(false);
    expect(isNodeHandler({ fetch: () => new Response('') })).toBe(false);
    expect(() => fromNodeHandler(42 as never)).toThrow(/needs a Node request listener .* got number/);
  });
});

describe('Express behind the proxy settings and on TLS', () => {
  const app = express();
  app.get('/', (req, res) => {
    res.json({ ip: req.ip, protocol: req.protocol, secure: req.secure, remote: req.socket.remoteAddress });
  });
  const forwarded = { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' };

  it('sees https on a TLS listener', async () => {
    const certs = makeCerts();
    try {
      server = await startServer(fromNodeHandler(app), 'llhttp', { certfile: certs.serverCert, keyfile: certs.serverKey });
      const seen = await new Promise<unknown>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: server!.port, path: '/', ca: certs.ca }, (response) => {
            let body = '';
            response.setEncoding('utf8');
            response.on('data', (part: string) => (body += part));
            response.on('end', () => resolve(JSON.parse(body)));
          })
          .on('error', reject);
      });
      expect(seen).toEqual({ ip: '127.0.0.1', protocol: 'https', secure: true, remote: '127.0.0.1' });
    } finally {
      fs.rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  for (const backend of ['llhttp', 'node'] as const) {
    it(`sees the forwarded client and scheme from a trusted proxy (${backend})`, async () => {
      server = await startServer(fromNodeHandler(app), backend, { proxyHeaders: true, forwardedAllowIps: ['127.0.0.1'] });
      const seen = await (await fetch(server.url, { headers: forwarded })).json();
      // Express's own "trust proxy" is off: what it sees is what tsgi made of the peer.
      expect(seen).toEqual({ ip: '203.0.113.7', protocol: 'https', secure: true, remote: '203.0.113.7' });
    });

    it(`sees the peer itself when the proxy is not trusted (${backend})`, async () => {
      server = await startServer(fromNodeHandler(app), backend, { proxyHeaders: true, forwardedAllowIps: ['10.0.0.1'] });
      const seen = await (await fetch(server.url, { headers: forwarded })).json();
      expect(seen).toEqual({ ip: '127.0.0.1', protocol: 'http', secure: false, remote: '127.0.0.1' });
    });
  }
});

describe('Express under mount', () => {
  it('sees its path below the prefix, the prefix in baseUrl and the whole path in originalUrl', async () => {
    const api = express();
    api.get('/users/:id', (req, res) => {
      res.json({ url: req.url, path: req.path, baseUrl: req.baseUrl, originalUrl: req.originalUrl, id: req.params.id, q: req.query.q });
    });
    api.post('/echo', express.json(), (req, res) => res.json({ body: req.body, baseUrl: req.baseUrl }));
    const fallback = fromNodeHandler((_req, res) => res.end('the fallback'));
    server = await startServer(mount(fallback, { '/api': fromNodeHandler(api) }), 'llhttp');
    const seen = await (await fetch(`${server.url}/api/users/7?q=x`)).json();
    expect(seen).toEqual({ url: '/users/7?q=x', path: '/users/7', baseUrl: '/api', originalUrl: '/api/users/7?q=x', id: '7', q: 'x' });
    const posted = await fetch(`${server.url}/api/echo`, { method: 'POST', body: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json' } });
    expect(await posted.json()).toEqual({ body: { n: 1 }, baseUrl: '/api' });
    expect(await (await fetch(`${server.url}/elsewhere`)).text()).toBe('the fallback');
    // Express's 404 names the whole path the client asked for.
    const missing = await fetch(`${server.url}/api/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cannot GET /api/nothing');
  });
});

describe('through the command line', () => {
  afterAll(() => killChildren());

  describe('an Express app exported as default (auto)', () => {
    let running: Running;
    beforeAll(async () => {
      running = await start(['test/fixtures/node-express.mjs']);
    });
    it('is served as a Node listener', async () => {
      expect(running.stderr.join('')).toContain('node interface (served as an event app)');
      const response = await fetch(`http://127.0.0.1:${running.port}/hello?name=cli`);
      expect(await response.json()).toEqual({ hello: 'cli' });
      const echoed = await fetch(`http://127.0.0.1:${running.port}/echo`, { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } });
      expect(await echoed.json()).toEqual({ a: 1 });
    });
  });

  describe('a Koa app exported as default (auto)', () => {
    let running: Running;
    beforeAll(async () => {
      running = await start(['test/fixtures/node-koa.mjs']);
    });
    it('is served as a Node listener', async () => {
      expect(running.stderr.join('')).toContain('node interface (served as an event app)');
      const response = await fetch(`http://127.0.0.1:${running.port}/from-koa`, { method: 'PUT' });
      expect(await response.json()).toEqual({ koa: true, path: '/from-koa', method: 'PUT' });
    });
  });

  describe('a bare listener with --interface node', () => {
    let running: Running;
    beforeAll(async () => {
      running = await start(['--interface', 'node', 'test/fixtures/node-listener.mjs']);
    });
    it('is served as a Node listener', async () => {
      expect(running.stderr.join('')).toContain('node interface (served as an event app)');
      const response = await fetch(`http://127.0.0.1:${running.port}/path?x=1`, { method: 'POST', body: 'sent' });
      expect(response.headers.get('x-listener')).toBe('bare');
      expect(await response.text()).toBe('POST /path?x=1 sent');
    });
  });
});
