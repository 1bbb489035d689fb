/**
 * HTTP/1.x protocol behaviour over raw TCP sockets, against both backends. Where uWebSockets.js's
 * C++ parser decides something itself, the uws branch asserts exactly what a client sees.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Environ, GatewayApp, StartResponse } from '../src/index.js';
import {
  describeBackends,
  delay,
  eventually,
  parseResponses,
  rawRequest,
  startServer,
  type ParsedResponse,
  type TestServer,
  traitsOf,
} from './helpers.js';

// --- helpers local to this file --------------------------------------------------------------

/** A persistent raw connection: collects what the server sends and lets a test wait for it. */
class Client {
  text = '';
  closed = false;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      this.notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
    // ECONNRESET and friends surface as 'close' as well; the test looks at `closed`.
    socket.on('error', () => {});
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Client(socket));
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Waits until `condition` holds (true) or `timeoutMs` passes (false). */
  until(condition: () => boolean, timeoutMs = 3000): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        resolve(condition());
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  /** Responses received whole so far (a Content-Length body must be complete). */
  responses(): ParsedResponse[] {
    return completeResponses(this.text);
  }

  untilResponses(count: number, timeoutMs = 3000): Promise<boolean> {
    return this.until(() => this.responses().length >= count, timeoutMs);
  }

  /** Whether the server closed the connection within `timeoutMs`. */
  untilClosed(timeoutMs = 3000): Promise<boolean> {
    return this.until(() => this.closed, timeoutMs);
  }

  destroy(): void {
    this.socket.destroy();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

function completeResponses(text: string): ParsedResponse[] {
  return parseResponses(text).filter((response) => {
    const length = response.header('content-length')[0];
    return length === undefined || response.body.length === Number(length);
  });
}

const clients: Client[] = [];
async function openClient(port: number): Promise<Client> {
  const client = await Client.open(port);
  clients.push(client);
  return client;
}

function get(path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`;
}

/** A synchronous (buffered-input) app that echoes `PATH_INFO:body`. */
const echoApp: GatewayApp = (environ: Environ, startResponse: StartResponse) => {
  const body = Buffer.from(environ['tsgi.input'].read()).toString('latin1');
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.PATH_INFO as string}:${body}`];
};

/** Asserts that a fresh connection to the server gets a normal 200. */
async function expectStillServing(port: number): Promise<void> {
  const result = await rawRequest(port, `GET /still-ok HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`, 3000);
  const responses = parseResponses(result.text);
  expect(responses).toHaveLength(1);
  expect(responses[0]!.status).toBe(200);
  expect(responses[0]!.body).toBe('/still-ok:');
}

// --- the suites ---------------------------------------------------------------------------------

describeBackends('protocol on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server?.close();
    server = null;
  });

  describe('keep-alive and pipelining', () => {
    it('answers three sequential requests on one connection and keeps it open', async () => {
      server = await startServer(echoApp, backend);
      const client = await openClient(server.port);
      for (let i = 0; i < 3; i++) {
        client.write(get(`/ka${i}`));
        expect(await client.untilResponses(i + 1)).toBe(true);
        expect(client.closed).toBe(false);
      }
      const responses = client.responses();
      expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(responses.map((r) => r.body)).toEqual(['/ka0:', '/ka1:', '/ka2:']);
      expect(responses.every((r) => r.header('connection').every((v) => v.toLowerCase() !== 'close'))).toBe(true);
      // Still open: the server did not close the connection after the third response.
      expect(await client.untilClosed(200)).toBe(false);
    });

    it('answers 10 pipelined GETs (one write) in order with a synchronous app', async () => {
      server = await startServer(echoApp, backend);
      const client = await openClient(server.port);
      client.write(Array.from({ length: 10 }, (_, i) => get(`/r${i}`)).join(''));
      expect(await client.untilResponses(10)).toBe(true);
      const responses = client.responses();
      expect(responses).toHaveLength(10);
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(responses.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `/r${i}:`));
      expect(client.closed).toBe(false);
    });

    it('answers pipelined POSTs with small Content-Length bodies in order (sync app, buffered body)', async () => {
      server = await startServer(echoApp, backend);
      const client = await openClient(server.port);
      const requests = Array.from(
        { length: 5 },
        (_, i) => `POST /p${i} HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nb${i}!`,
      );
      client.write(requests.join(''));
      expect(await client.untilResponses(5)).toBe(true);
      const responses = client.responses();
      expect(responses).toHaveLength(5);
      expect(responses.map((r) => r.status)).toEqual(Array(5).fill(200));
      expect(responses.map((r) => r.body)).toEqual(Array.from({ length: 5 }, (_, i) => `/p${i}:b${i}!`));
      expect(client.closed).toBe(false);
    });

    it('pipelining behind responses that wait on real I/O: node answers in order, uws closes', async () => {
      const calls: string[] = [];
      server = await startServer(async (environ, startResponse) => {
        calls.push(environ.PATH_INFO as string);
        await new Promise((resolve) => setTimeout(resolve, 20));
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return [environ.PATH_INFO as string];
      }, backend);
      const client = await openClient(server.port);
      client.write(Array.from({ length: 10 }, (_, i) => get(`/io${i}`)).join(''));
      if (traitsOf(backend).pipelinesAsync) {
        expect(await client.untilResponses(10)).toBe(true);
        const responses = client.responses();
        expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
        expect(responses.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `/io${i}`));
        expect(client.closed).toBe(false);
      } else {
        // uWS's decision ("denying async pipelining"): a request arriving while an earlier
        // response is still pending closes the connection; nothing is answered.
        expect(await client.untilClosed()).toBe(true);
        expect(parseResponses(client.text)).toHaveLength(0);
        expect(calls).toEqual(['/io0']);
      }
    });

    it('pipelines 10 requests to an async app that awaits only resolved promises, in order', async () => {
      server = await startServer(async (environ, startResponse) => {
        await Promise.resolve();
        await null;
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return [environ.PATH_INFO as string];
      }, backend);
      const client = await openClient(server.port);
      client.write(Array.from({ length: 10 }, (_, i) => get(`/m${i}`)).join(''));
      expect(await client.untilResponses(10)).toBe(true);
      const responses = client.responses();
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(responses.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `/m${i}`));
      expect(client.closed).toBe(false);
    });
  });

  describe('HTTP/1.0', () => {
    const calls: string[] = [];
    const app: GatewayApp = (environ, startResponse) => {
      calls.push(environ.PATH_INFO as string);
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      if (environ.PATH_INFO === '/gen') {
        return (function* () {
          yield 'one,';
          yield 'two,';
          yield 'three';
        })();
      }
      return [environ.SERVER_PROTOCOL as string];
    };
    afterEach(() => {
      calls.length = 0;
    });

    it('a request without Host: node serves it and closes; uws answers 505', async () => {
      server = await startServer(app, backend);
      const result = await rawRequest(server.port, 'GET /v HTTP/1.0\r\n\r\n', 3000);
      expect(result.closed).toBe(true);
      const responses = parseResponses(result.text);
      expect(responses).toHaveLength(1);
      const response = responses[0]!;
      if (traitsOf(backend).http10) {
        // Node writes HTTP/1.1 status lines whatever the request version.
        expect(response.statusLine).toBe('HTTP/1.1 200 OK');
        expect(response.body).toBe('HTTP/1.0');
        expect(response.header('connection')).toEqual(['close']);
        expect(calls).toEqual(['/v']);
      } else {
        // uWS's parser decision: uWebSockets.js v20 speaks only HTTP/1.1.
        expect(response.statusLine).toBe('HTTP/1.1 505 HTTP Version Not Supported');
        expect(response.header('connection')).toEqual(['close']);
        expect(calls).toEqual([]);
        await expectAppStillServes(server.port, calls);
      }
    });

    it('an unknown-length body: node sends it close-delimited (no chunked); uws answers 505', async () => {
      server = await startServer(app, backend);
      const result = await rawRequest(server.port, 'GET /gen HTTP/1.0\r\nHost: test\r\n\r\n', 3000);
      expect(result.closed).toBe(true);
      const responses = parseResponses(result.text);
      expect(responses).toHaveLength(1);
      const response = responses[0]!;
      if (traitsOf(backend).http10) {
        expect(response.statusLine).toBe('HTTP/1.1 200 OK');
        expect(response.header('transfer-encoding')).toEqual([]);
        expect(response.header('content-length')).toEqual([]);
        expect(response.body).toBe('one,two,three');
      } else {
        // uWS's parser decision: HTTP/1.0 is refused even with a Host header.
        expect(response.status).toBe(505);
        expect(calls).toEqual([]);
        await expectAppStillServes(server.port, calls);
      }
    });

    async function expectAppStillServes(port: number, seen: string[]): Promise<void> {
      const result = await rawRequest(port, 'GET /after HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n', 3000);
      const responses = parseResponses(result.text);
      expect(responses).toHaveLength(1);
      expect(responses[0]!.status).toBe(200);
      expect(responses[0]!.body).toBe('HTTP/1.1');
      expect(seen).toEqual(['/after']);
    }
  });

  describe('request bodies', () => {
    it('delivers a chunked request body (several chunks, several writes) to a sync app intact', async () => {
      server = await startServer(echoApp, backend);
      const client = await openClient(server.port);
      client.write('POST /chunked HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n');
      for (const part of ['5\r\nhello\r\n', '1\r\n,\r\n', 'a\r\n world 123\r\n', '3\r\n!!!\r\n', '0\r\n\r\n']) {
        await delay(5);
        client.write(part);
      }
      expect(await client.untilResponses(1)).toBe(true);
      const [response] = client.responses();
      expect(response!.status).toBe(200);
      expect(response!.body).toBe('/chunked:hello, world 123!!!');
      expect(client.closed).toBe(false);
    });

    it('Expect: 100-continue with a small body: 100 first, then the final 200 with the body', async () => {
      server = await startServer(echoApp, backend);
      const client = await openClient(server.port);
      client.write('POST /cont HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n');
      expect(await client.until(() => client.text.includes('\r\n\r\n'))).toBe(true);
      // Nothing but the interim response before the body is sent.
      expect(client.text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
      client.write('hello');
      expect(await client.untilResponses(2)).toBe(true);
      const responses = client.responses();
      expect(responses.map((r) => r.status)).toEqual([100, 200]);
      expect(responses[1]!.body).toBe('/cont:hello');
      expect(client.closed).toBe(false);
    });

    it('Expect: 100-continue with a Content-Length over maxBodySize: 413 (node without a 100 first)', async () => {
      let called = false;
      server = await startServer(
        (environ, startResponse) => {
          called = true;
          return echoApp(environ, startResponse);
        },
        backend,
        { maxBodySize: 1000 },
      );
      const client = await openClient(server.port);
      client.write('POST /big HTTP/1.1\r\nHost: test\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n');
      expect(await client.untilClosed()).toBe(true);
      const responses = client.responses();
      if (traitsOf(backend).continueOnDemand) {
        expect(client.text).not.toContain('100 Continue');
        expect(responses.map((r) => r.status)).toEqual([413]);
      } else {
        // uWS's decision: it answers 100 Continue itself before tsgi's handler runs.
        expect(responses.map((r) => r.status)).toEqual([100, 413]);
      }
      const final = responses[responses.length - 1]!;
      expect(final.header('connection')).toEqual(['close']);
      expect(final.body).toContain('1000 bytes');
      expect(called).toBe(false);
      await expectStillServing(server.port);
    });
  });

  describe('malformed and oversized input', () => {
    /** What uWS does with a head it cannot parse: nothing, and the connection stays open. */
    async function expectUwsHoldsSilently(port: number, request: string): Promise<void> {
      const client = await openClient(port);
      client.write(request);
      // No response and no close while the parser waits for the rest of a head it cannot finish...
      expect(await client.until(() => client.text.length > 0 || client.closed, 300)).toBe(false);
      // ...and bytes past the header limit then get uWS's own 431, proving the parser held it.
      client.write('x'.repeat(20 * 1024));
      expect(await client.untilClosed()).toBe(true);
      expect(client.text.startsWith('HTTP/1.1 431 Request Header Fields Too Large\r\n')).toBe(true);
    }

    async function expectClosedWith(port: number, request: string, status: number, reason: string): Promise<ParsedResponse> {
      const result = await rawRequest(port, request, 3000);
      expect(result.closed).toBe(true);
      const responses = parseResponses(result.text);
      expect(responses).toHaveLength(1);
      const response = responses[0]!;
      expect(response.statusLine).toBe(`HTTP/1.1 ${status} ${reason}`);
      expect(response.header('connection')).toEqual(['close']);
      return response;
    }

    it('a garbage request line', async () => {
      server = await startServer(echoApp, backend);
      if (traitsOf(backend).answersMalformed) {
        const response = await expectClosedWith(server.port, 'GARBAGE\r\n\r\n', 400, 'Bad Request');
        expect(response.body).toMatch(/^Bad Request\n\nThe request could not be parsed: .+\.\n$/);
      } else {
        // uWS's parser decision: no response, connection left open (until its idle timeout).
        await expectUwsHoldsSilently(server.port, 'GARBAGE\r\n\r\n');
      }
      await expectStillServing(server.port);
    });

    it('an invalid header line (space in the name)', async () => {
      server = await startServer(echoApp, backend);
      const request = 'GET / HTTP/1.1\r\nHost: test\r\nBad Header: v\r\n\r\n';
      if (traitsOf(backend).answersMalformed) {
        const response = await expectClosedWith(server.port, request, 400, 'Bad Request');
        expect(response.body).toMatch(/^Bad Request\n\nThe request could not be parsed: .+\.\n$/);
      } else {
        // uWS's parser decision: no response, connection left open (until its idle timeout).
        await expectUwsHoldsSilently(server.port, request);
      }
      await expectStillServing(server.port);
    });

    it('an HTTP/1.1 request without Host', async () => {
      const calls: string[] = [];
      server = await startServer((environ, startResponse) => {
        calls.push(environ.PATH_INFO as string);
        return echoApp(environ, startResponse);
      }, backend);
      const request = 'GET /nohost HTTP/1.1\r\n\r\n';
      if (traitsOf(backend).answersMalformed) {
        // Node's own requireHostHeader answer (empty chunked body), not tsgi's clientError path.
        await expectClosedWith(server.port, request, 400, 'Bad Request');
      } else {
        // uWS's parser decision: no response, connection left open (until its idle timeout).
        await expectUwsHoldsSilently(server.port, request);
      }
      expect(calls).toEqual([]);
      await expectStillServing(server.port);
    });

    it('Content-Length together with Transfer-Encoding: chunked → 400', async () => {
      server = await startServer(echoApp, backend);
      const request =
        'POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
      const response = await expectClosedWith(server.port, request, 400, 'Bad Request');
      if (traitsOf(backend).answersMalformed) expect(response.body).toMatch(/^Bad Request\n\nThe request could not be parsed: .+\.\n$/);
      // uWS's parser decision: its own 400 page, without tsgi's Server header.
      else expect(response.body).toContain('<h1>Bad Request</h1>');
      await expectStillServing(server.port);
    });

    it('an invalid Content-Length (abc) → 400', async () => {
      server = await startServer(echoApp, backend);
      const response = await expectClosedWith(
        server.port,
        'POST / HTTP/1.1\r\nHost: test\r\nContent-Length: abc\r\n\r\n',
        400,
        'Bad Request',
      );
      if (traitsOf(backend).answersMalformed) expect(response.body).toMatch(/^Bad Request\n\nThe request could not be parsed: .+\.\n$/);
      // uWS's parser decision: its own 400 page, without tsgi's Server header.
      else expect(response.body).toContain('<h1>Bad Request</h1>');
      await expectStillServing(server.port);
    });

    it('a header block over maxHeaderSize (20 KiB header, 16 KiB limit) → 431', async () => {
      server = await startServer(echoApp, backend);
      const request = `GET / HTTP/1.1\r\nHost: test\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`;
      await expectClosedWith(server.port, request, 431, 'Request Header Fields Too Large');
      await expectStillServing(server.port);
    });

    it('a Content-Length body over maxBodySize → 413, Connection: close, connection closed', async () => {
      let called = false;
      server = await startServer(
        (environ, startResponse) => {
          called = true;
          return echoApp(environ, startResponse);
        },
        backend,
        { maxBodySize: 1000 },
      );
      const request = `POST /big HTTP/1.1\r\nHost: test\r\nContent-Length: 2000\r\n\r\n${'x'.repeat(2000)}`;
      const response = await expectClosedWith(server.port, request, 413, 'Content Too Large');
      expect(response.header('server')).toEqual(['tsgi']);
      expect(response.body).toBe('Content Too Large\n\nThe request body is larger than this server accepts (1000 bytes).\n');
      expect(called).toBe(false);
      await expectStillServing(server.port);
    });
  });

  describe('client disconnects', () => {
    it('a client leaving mid-body (buffered app) does not disturb other clients', async () => {
      const calls: string[] = [];
      server = await startServer((environ, startResponse) => {
        calls.push(environ.PATH_INFO as string);
        return echoApp(environ, startResponse);
      }, backend);
      const leaver = await openClient(server.port);
      leaver.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
      const other = await openClient(server.port);
      other.write(get('/other'));
      expect(await other.untilResponses(1)).toBe(true);
      expect(other.responses()[0]!.body).toBe('/other:');
      leaver.destroy();
      // The other connection keeps working, and so does the server for new connections.
      other.write(get('/other2'));
      expect(await other.untilResponses(2)).toBe(true);
      expect(other.responses()[1]!.body).toBe('/other2:');
      await expectStillServing(server.port);
      // The buffered app was never called for the incomplete upload.
      expect(calls).toEqual(['/other', '/other2', '/still-ok']);
    });

    it('a client leaving mid-body (streaming app) fails its read and does not disturb other clients', async () => {
      let firstChunk!: () => void;
      const gotFirstChunk = new Promise<void>((resolve) => {
        firstChunk = resolve;
      });
      const outcomes: string[] = [];
      server = await startServer(async (environ, startResponse) => {
        if (environ.PATH_INFO === '/upload') {
          let received = 0;
          try {
            for await (const chunk of environ['tsgi.input']) {
              received += chunk.byteLength;
              firstChunk();
            }
            outcomes.push(`complete ${received}`);
          } catch (error) {
            outcomes.push(`failed: ${(error as Error).message}`);
          }
          return [];
        }
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return [`${environ.PATH_INFO as string}:`];
      }, backend);
      const leaver = await openClient(server.port);
      leaver.write(`POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(1000)}`);
      await gotFirstChunk;
      const other = await openClient(server.port);
      other.write(get('/other'));
      expect(await other.untilResponses(1)).toBe(true);
      expect(other.responses()[0]!.body).toBe('/other:');
      leaver.destroy();
      expect(await eventually(() => outcomes.length > 0, 3000)).toBe(true);
      expect(outcomes).toEqual(['failed: the client disconnected before the request body was complete']);
      other.write(get('/other2'));
      expect(await other.untilResponses(2)).toBe(true);
      expect(other.responses()[1]!.body).toBe('/other2:');
      await expectStillServing(server.port);
    });

    it('a client leaving while a slow app works is logged at debug level only (spec §7)', async () => {
      let entered!: () => void;
      const appEntered = new Promise<void>((resolve) => {
        entered = resolve;
      });
      let release!: () => void;
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let settled = false;
      server = await startServer(
        async (environ, startResponse) => {
          try {
            if (environ.PATH_INFO === '/slow') {
              entered();
              await released;
            }
            startResponse('200 OK', [['Content-Type', 'text/plain']]);
            return [`${environ.PATH_INFO as string}:`];
          } finally {
            settled = true;
          }
        },
        backend,
        { logLevel: 'debug' },
      );
      const leaver = await openClient(server.port);
      leaver.write(get('/slow'));
      await appEntered;
      leaver.destroy();
      const errors = server.errors;
      expect(await eventually(() => errors.some((line) => line.includes('disconnected before the response ended')))).toBe(true);
      release();
      expect(await eventually(() => settled)).toBe(true);
      await delay(20);
      expect(errors.filter((line) => line.startsWith('[tsgi] [debug] GET /slow: the client disconnected'))).toHaveLength(1);
      // The app did nothing wrong: no error-level line (it is the client that left).
      expect(errors.filter((line) => /\[(error|critical|warning)\]/.test(line))).toEqual([]);
      await expectStillServing(server.port);
    });
  });
});
