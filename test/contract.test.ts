/**
 * Server duties and faults (docs/spec.md, "The server's duties"): the startResponse state
 * machine, header validation, Content-Length enforcement, HEAD and bodiless statuses, Server and
 * Date, what the app can get wrong, close(), and the access log. Real sockets, both backends.
 */
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { Environ, GatewayApp, HeaderPair, StartResponse } from '../src/index.js';
import { RawConn, type RawResponse } from './raw-conn.js';
import { describeBackends, delay, eventually, parseResponses, rawRequest, startServer, type TestServer, traitsOf } from './helpers.js';

// --- small helpers ---------------------------------------------------------------------------

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const HEAD = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

/** Error-log text written since `from` (an index into server.errors). */
function errorsSince(server: TestServer, from: number): string {
  return server.errors.slice(from).join('');
}

/** A normal request on a new connection: the server survived whatever came before. */
async function expectHealthy(server: TestServer): Promise<void> {
  const response = await fetch(`${server.url}/ok`);
  expect(response.status).toBe(200);
  expect(await response.text()).toBe('fine');
}

/**
 * Wraps a fault-specific app: `/ok` always answers normally, so one server can show that it
 * still serves after the fault.
 */
function withHealth(app: GatewayApp): GatewayApp {
  const wrapped = (environ: Environ, startResponse: StartResponse) => {
    if (environ.PATH_INFO === '/ok') {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['fine'];
    }
    return app(environ, startResponse);
  };
  return wrapped as GatewayApp;
}

/** The response is cut: the connection closed and no chunked terminator or 500 ever came. */
function expectAborted(result: { text: string; closed: boolean }): void {
  expect(result.closed).toBe(true);
  expect(result.text).not.toContain('0\r\n\r\n');
  expect(result.text).not.toMatch(/^HTTP\/1\.1 500/m);
}

describeBackends('startResponse on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('a second call without excInfo is a 500', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', []);
        startResponse('201 Created', []);
        return ['never'];
      }),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/twice`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(errorsSince(server, mark)).toContain('startResponse() was called a second time without excInfo');
    await expectHealthy(server);
  });

  it('with excInfo before anything was sent, the second status and headers win', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['X-First', '1']]);
        try {
          throw new Error('something failed after startResponse');
        } catch (error) {
          startResponse('503 Service Unavailable', [['X-Second', '2']], error);
        }
        return ['replaced'];
      }),
      backend,
    );
    const response = await fetch(`${server.url}/replace`);
    expect(response.status).toBe(503);
    expect(response.headers.get('x-second')).toBe('2');
    expect(response.headers.get('x-first')).toBeNull();
    expect(await response.text()).toBe('replaced');
  });

  it('with excInfo after only empty chunks, the headers are still replaceable', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['X-First', '1']]);
        return (function* () {
          yield '';
          startResponse('502 Bad Gateway', [['X-Second', '2']], new Error('upstream failed'));
          yield 'second';
        })();
      }),
      backend,
    );
    const response = await fetch(`${server.url}/late-but-unsent`);
    expect(response.status).toBe(502);
    expect(response.headers.get('x-first')).toBeNull();
    expect(await response.text()).toBe('second');
  });

  it('with excInfo after the headers were sent, the error is re-thrown and the connection aborted', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return (function* () {
          yield 'partial';
          startResponse('500 Internal Server Error', [], new Error('rethrown-exc-info'));
          yield 'never sent';
        })();
      }),
      backend,
    );
    const mark = server.errors.length;
    const result = await rawRequest(server.port, GET('/too-late'), 3000);
    expectAborted(result);
    expect(result.text).not.toContain('never sent');
    expect(await eventually(() => errorsSince(server!, mark).includes('rethrown-exc-info'))).toBe(true);

    // The same through fetch: the body read rejects.
    await expect(
      (async () => {
        const response = await fetch(`${server!.url}/too-late`);
        await response.text();
      })(),
    ).rejects.toThrow();
    await expectHealthy(server);
  });
});

describeBackends('status and header validation on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function expect500(status: unknown, headers: unknown, logged: string, path = '/bad'): Promise<Response> {
    server = await startServer(
      withHealth((_e, startResponse) => {
        (startResponse as (s: unknown, h: unknown) => void)(status, headers);
        return ['should not be sent'];
      }),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}${path}`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).toBe('Internal Server Error\n');
    expect(errorsSince(server, mark)).toContain(logged);
    await expectHealthy(server);
    return response;
  }

  it.each([['200'], ['abc OK'], ['200 OK\r\nX: y'], ['99 Low'], ['200OK'], ['']])(
    'invalid status %j is a 500',
    async (status) => {
      await expect500(status, [], "status must be a string like '200 OK'");
    },
  );

  it('a non-string status is a 500', async () => {
    await expect500(200, [], "status must be a string like '200 OK'");
  });

  it('CR/LF in a header value is a 500 and nothing is injected', async () => {
    const response = await expect500(
      '200 OK',
      [['X-A', 'v\r\nSet-Cookie: evil=1']],
      'has a value with CR, LF',
    );
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('x-a')).toBeNull();
  });

  it('CR/LF injection does not reach the wire (raw socket)', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['X-A', 'v\r\nSet-Cookie: evil=1']]);
        return ['x'];
      }),
      backend,
    );
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/inject'));
      const response = await conn.read();
      expect(response.status).toBe(500);
      expect(response.header('set-cookie')).toEqual([]);
      expect(conn.pending().length).toBe(0);
    } finally {
      conn.destroy();
    }
  });

  it('a bare LF or NUL in a header value is a 500', async () => {
    await expect500('200 OK', [['X-A', 'a\nb']], 'has a value with CR, LF');
  });

  it('NUL in a header value is a 500', async () => {
    await expect500('200 OK', [['X-A', 'a\u0000b']], 'has a value with CR, LF');
  });

  it('an invalid header name is a 500', async () => {
    await expect500('200 OK', [['Bad Name', 'v']], 'header name "Bad Name" is not a valid HTTP token');
  });

  it('a header name with a colon or CRLF is a 500', async () => {
    await expect500('200 OK', [['X-A: b\r\nX-C', 'v']], 'is not a valid HTTP token');
  });

  it.each([
    ['Connection', 'close'],
    ['Transfer-Encoding', 'chunked'],
    ['Keep-Alive', 'timeout=5'],
    ['Upgrade', 'websocket'],
    ['connection', 'keep-alive'],
  ])('hop-by-hop header %s is a 500', async (name, value) => {
    await expect500('200 OK', [[name, value]], `header ${name} is hop-by-hop`);
  });

  it.each([
    ['a name with a number value', [['X-A', 1]]],
    ['a one-element pair', [['X-A']]],
    ['a three-element pair', [['X-A', 'b', 'c']]],
    ['a string instead of a pair', ['X-A: b']],
    ['null instead of a pair', [null]],
    ['an object instead of a pair', [{ 'X-A': 'b' }]],
  ])('a header pair that is not two strings (%s) is a 500', async (_label, headers) => {
    await expect500('200 OK', headers, 'must be a [name, value] pair of strings');
  });

  it('headers that are not an array are a 500', async () => {
    await expect500('200 OK', { 'X-A': 'b' }, 'headers must be an array');
  });

  it('a non-numeric Content-Length is a 500', async () => {
    await expect500('200 OK', [['Content-Length', 'ten']], 'Content-Length must be a non-negative integer');
  });
});

describeBackends('Content-Length on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('is computed for an array body', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return ['abc', new Uint8Array([100, 101]), 'é'];
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/'));
      const response = await conn.read();
      expect(response.header('content-length')).toEqual(['7']);
      expect(response.header('transfer-encoding')).toEqual([]);
      expect(response.body.toString('utf8')).toBe('abcdeé');
    } finally {
      conn.destroy();
    }
  });

  it('an app-declared Content-Length is honoured (generator body, no chunking)', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Length', '11']]);
      return (function* () {
        yield 'hello';
        yield ' ';
        yield 'world';
      })();
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/') + GET('/'));
      for (let i = 0; i < 2; i++) {
        const response = await conn.read();
        expect(response.header('content-length')).toEqual(['11']);
        expect(response.header('transfer-encoding')).toEqual([]);
        expect(response.body.toString()).toBe('hello world');
      }
    } finally {
      conn.destroy();
    }
  });

  it('an app-declared Content-Length matching an array body is sent once', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['content-length', '4']]);
      return ['ab', 'cd'];
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/'));
      const response = await conn.read();
      expect(response.header('content-length')).toEqual(['4']);
      expect(response.body.toString()).toBe('abcd');
    } finally {
      conn.destroy();
    }
  });

  it.each(['array', 'generator'])(
    'declared 5 but a %s body of 10 bytes: exactly 5 bytes are sent and the overrun is logged',
    async (kind) => {
      server = await startServer(
        withHealth((_e, startResponse) => {
          startResponse('200 OK', [['Content-Length', '5']]);
          if (kind === 'array') return ['abcdefghij'];
          return (function* () {
            yield 'abc';
            yield 'defghij';
          })();
        }),
        backend,
      );
      const mark = server.errors.length;
      // Pipelined: if excess bytes were sent they would be read as the start of the next response.
      const conn = await RawConn.open(server.port);
      try {
        conn.write(GET('/over') + GET('/ok'));
        const first = await conn.read();
        expect(first.status).toBe(200);
        expect(first.header('content-length')).toEqual(['5']);
        expect(first.body.toString()).toBe('abcde');
        // Either the next response follows at once, or the connection ends right after the 5 bytes.
        let next: RawResponse | null = null;
        try {
          next = await conn.read();
        } catch {
          expect(conn.closed).toBe(true);
          expect(conn.pending().length).toBe(0);
        }
        if (next !== null) {
          expect(next.statusLine).toMatch(/^HTTP\/1\.1 200 /);
          expect(next.body.toString()).toBe('fine');
        }
      } finally {
        conn.destroy();
      }
      expect(await eventually(() => errorsSince(server!, mark).includes('more body than its Content-Length of 5'))).toBe(
        true,
      );
      await expectHealthy(server);
    },
  );

  it.each(['array', 'generator', 'async generator'])(
    'declared 10 but a %s body of 5 bytes: the connection closes after the 5 bytes and it is logged',
    async (kind) => {
      server = await startServer(
        withHealth((_e, startResponse) => {
          startResponse('200 OK', [['Content-Length', '10']]);
          if (kind === 'array') return ['abcde'];
          if (kind === 'generator') {
            return (function* () {
              yield 'ab';
              yield 'cde';
            })();
          }
          return (async function* () {
            yield 'abc';
            yield 'de';
          })();
        }),
        backend,
      );
      const mark = server.errors.length;
      const result = await rawRequest(server.port, GET('/short'), 3000);
      expect(result.closed).toBe(true);
      const [response] = parseResponses(result.text);
      expect(response?.status).toBe(200);
      expect(response?.header('content-length')).toEqual(['10']);
      expect(response?.body).toBe('abcde');
      expect(await eventually(() => errorsSince(server!, mark).includes('ended after 5 of the 10 bytes'))).toBe(true);
      await expectHealthy(server);
    },
  );

  it('declared 10 but an empty body: the connection closes and it is logged', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Length', '10']]);
      return [];
    }, backend);
    const mark = server.errors.length;
    const result = await rawRequest(server.port, GET('/empty'), 3000);
    expect(result.closed).toBe(true);
    expect(result.text).not.toMatch(/\r\n\r\n./s);
    expect(await eventually(() => errorsSince(server!, mark).includes('ended after 0 of the 10 bytes'))).toBe(true);
  });
});

describeBackends('Server and Date headers on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  async function rawHeaders(headers: HeaderPair[]) {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', headers);
      return ['x'];
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/'));
      return await conn.read();
    } finally {
      conn.destroy();
    }
  }

  it('adds Server: tsgi and exactly one Date', async () => {
    const response = await rawHeaders([]);
    expect(response.header('server')).toEqual(['tsgi']);
    const dates = response.header('date');
    expect(dates).toHaveLength(1);
    expect(Number.isNaN(Date.parse(dates[0]!))).toBe(false);
    expect(dates[0]).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  });

  it("keeps the app's own Server header, and only that one", async () => {
    const response = await rawHeaders([['Server', 'mine']]);
    expect(response.header('server')).toEqual(['mine']);
    expect(response.header('date')).toHaveLength(1);
  });

  it('sends exactly one Date when the app sets Date', async () => {
    const appDate = 'Wed, 21 Oct 2015 07:28:00 GMT';
    const response = await rawHeaders([['Date', appDate]]);
    const dates = response.header('date');
    expect(dates).toHaveLength(1);
    if (traitsOf(backend).keepsAppDate) {
      expect(dates[0]).toBe(appDate);
    } else {
      // uWS writes its own Date; the app's is dropped rather than duplicated.
      expect(dates[0]).not.toBe(appDate);
    }
    expect(response.header('server')).toEqual(['tsgi']);
  });

  it('server-written 500s also carry exactly one Server and one Date', async () => {
    server = await startServer(() => {
      throw new Error('fault for headers');
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/'));
      const response = await conn.read();
      expect(response.status).toBe(500);
      expect(response.header('server')).toEqual(['tsgi']);
      expect(response.header('date')).toHaveLength(1);
    } finally {
      conn.destroy();
    }
  });
});

describeBackends('faults on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  function throwDeliberately(): never {
    throw new Error('deliberate sync failure');
  }

  it('a sync throw before startResponse is a 500 with a plain body and the stack in the log', async () => {
    server = await startServer(withHealth(() => throwDeliberately()), backend);
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/throw`);
    expect(response.status).toBe(500);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const body = await response.text();
    expect(body).toBe('Internal Server Error\n');
    expect(body).not.toContain('deliberate');
    const logged = errorsSince(server, mark);
    expect(logged).toContain('Error: deliberate sync failure');
    // The stack, not just the message.
    expect(logged).toContain('throwDeliberately');
    expect(logged).toMatch(/\n\s+at /);
    await expectHealthy(server);
  });

  it('debug: true puts the error message in the 500 body', async () => {
    server = await startServer(withHealth(() => throwDeliberately()), backend, { debug: true });
    const response = await fetch(`${server.url}/throw`);
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body.startsWith('Internal Server Error\n')).toBe(true);
    expect(body).toContain('deliberate sync failure');
    await expectHealthy(server);
  });

  it('a sync throw after startResponse (before any body) is a 500', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['X-Never', '1']]);
        throw new Error('after start');
      }),
      backend,
    );
    const response = await fetch(`${server.url}/throw`);
    expect(response.status).toBe(500);
    expect(response.headers.get('x-never')).toBeNull();
    expect(await response.text()).toBe('Internal Server Error\n');
    await expectHealthy(server);
  });

  it('a rejected promise is a 500', async () => {
    server = await startServer(
      withHealth(() => Promise.reject(new Error('rejected on purpose'))),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/reject`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(errorsSince(server, mark)).toContain('rejected on purpose');
    await expectHealthy(server);
  });

  it('an async function that throws is a 500', async () => {
    server = await startServer(
      withHealth(async () => {
        await delay(1);
        throw new Error('async failure');
      }),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/async-throw`);
    expect(response.status).toBe(500);
    expect(errorsSince(server, mark)).toContain('async failure');
    await expectHealthy(server);
  });

  it('an async generator that throws after yielding a chunk aborts the connection', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return (async function* () {
          yield 'first chunk';
          await delay(5);
          throw new Error('generator died mid-stream');
        })();
      }),
      backend,
    );
    const mark = server.errors.length;
    const result = await rawRequest(server.port, GET('/midstream'), 3000);
    expectAborted(result);
    expect(await eventually(() => errorsSince(server!, mark).includes('generator died mid-stream'))).toBe(true);

    await expect(
      (async () => {
        const response = await fetch(`${server!.url}/midstream`);
        await response.text();
      })(),
    ).rejects.toThrow();
    await expectHealthy(server);
  });

  it('a sync generator that throws after yielding a chunk aborts the connection', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', []);
        return (function* () {
          yield 'first chunk';
          throw new Error('sync generator died');
        })();
      }),
      backend,
    );
    const result = await rawRequest(server.port, GET('/midstream'), 3000);
    expectAborted(result);
    await expectHealthy(server);
  });

  it.each([
    ['a string', () => 'just a string', 'the app returned the string "just a string"'],
    ['null', () => null, 'the app returned null'],
    ['a number', () => 42, 'the app returned number 42'],
    ['undefined', () => undefined, 'the app returned undefined'],
    ['a promise of a string', async () => 'late string', 'the app returned the string "late string"'],
  ])('returning %s is a 500 that says so', async (_label, produce, logged) => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', []);
        return produce() as never;
      }),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/wrong`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(errorsSince(server, mark)).toContain(logged);
    await expectHealthy(server);
  });

  it.each(['array', 'generator', 'async generator'])(
    'returning a %s body without calling startResponse is a 500',
    async (kind) => {
      server = await startServer(
        withHealth(() => {
          if (kind === 'array') return ['orphan'];
          if (kind === 'generator') {
            return (function* () {
              yield 'orphan';
            })();
          }
          return (async function* () {
            yield 'orphan';
          })();
        }),
        backend,
      );
      const mark = server.errors.length;
      const response = await fetch(`${server.url}/nostart`);
      expect(response.status).toBe(500);
      expect(await response.text()).toBe('Internal Server Error\n');
      expect(errorsSince(server, mark)).toContain('without calling startResponse()');
      await expectHealthy(server);
    },
  );

  it.each(['array', 'generator', 'async generator'])('a number as the first chunk (%s) is a 500', async (kind) => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', []);
        if (kind === 'array') return [7 as unknown as string];
        if (kind === 'generator') {
          return (function* () {
            yield 7 as unknown as string;
          })();
        }
        return (async function* () {
          yield 7 as unknown as string;
        })();
      }),
      backend,
    );
    const mark = server.errors.length;
    const response = await fetch(`${server.url}/badchunk`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(errorsSince(server, mark)).toContain('a body chunk must be a string or a Uint8Array; got number 7');
    await expectHealthy(server);
  });

  it('an object chunk after a good one aborts the connection', async () => {
    server = await startServer(
      withHealth((_e, startResponse) => {
        startResponse('200 OK', []);
        return (function* () {
          yield 'good';
          yield { not: 'a chunk' } as unknown as string;
        })();
      }),
      backend,
    );
    const mark = server.errors.length;
    const result = await rawRequest(server.port, GET('/badchunk'), 3000);
    expectAborted(result);
    expect(errorsSince(server, mark)).toContain('a body chunk must be a string or a Uint8Array');
    await expectHealthy(server);
  });
});

/** A body with close(): counts calls; iterates `chunks`, throws at `failAt`, or never ends. */
class ClosableBody {
  closes = 0;
  constructor(
    private readonly chunks: string[],
    private readonly options: { failAt?: number; endless?: boolean } = {},
  ) {}

  *[Symbol.iterator](): Iterator<string> {
    if (this.options.endless === true) {
      const block = 'x'.repeat(64 * 1024);
      for (;;) yield block;
    }
    for (let i = 0; i < this.chunks.length; i++) {
      if (i === this.options.failAt) throw new Error('iteration failed on purpose');
      yield this.chunks[i]!;
    }
  }

  close(): void {
    this.closes++;
  }
}

class ClosableAsyncBody {
  closes = 0;
  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    const block = 'y'.repeat(64 * 1024);
    for (;;) {
      await Promise.resolve();
      yield block;
    }
  }

  close(): void {
    this.closes++;
  }
}

/** Reads at least `bytes` of a response, then destroys the socket. */
function readSomeThenDisconnect(port: number, path: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let size = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`only ${size} bytes arrived`));
    }, 10_000);
    socket.on('connect', () => socket.write(GET(path)));
    socket.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size >= bytes) {
        clearTimeout(timer);
        socket.destroy();
        resolve(size);
      }
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describeBackends('close() on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('is called exactly once after a successful response', async () => {
    const bodies: ClosableBody[] = [];
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableBody(['one', 'two', 'three']);
      bodies.push(body);
      return body;
    }, backend);
    const response = await fetch(`${server.url}/`);
    expect(await response.text()).toBe('onetwothree');
    expect(bodies).toHaveLength(1);
    expect(await eventually(() => bodies[0]!.closes === 1)).toBe(true);
    await delay(100);
    expect(bodies[0]!.closes).toBe(1);
  });

  it('is called exactly once for an array subclass body', async () => {
    class ClosableArray extends Array<string> {
      closes = 0;
      close(): void {
        this.closes++;
      }
    }
    let body: ClosableArray | null = null;
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      body = new ClosableArray();
      body.push('arr', 'ay');
      return body;
    }, backend);
    expect(await (await fetch(`${server.url}/`)).text()).toBe('array');
    expect(await eventually(() => body?.closes === 1)).toBe(true);
    await delay(100);
    expect(body!.closes).toBe(1);
  });

  it('is called exactly once when the iteration throws', async () => {
    const bodies: ClosableBody[] = [];
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableBody(['sent', 'fails'], { failAt: 1 });
      bodies.push(body);
      return body;
    }, backend);
    const result = await rawRequest(server.port, GET('/'), 3000);
    expectAborted(result);
    expect(await eventually(() => bodies[0]?.closes === 1)).toBe(true);
    await delay(100);
    expect(bodies[0]!.closes).toBe(1);
  });

  it('is called exactly once when the iteration throws before the first chunk (500)', async () => {
    const bodies: ClosableBody[] = [];
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableBody(['never'], { failAt: 0 });
      bodies.push(body);
      return body;
    }, backend);
    const response = await fetch(`${server.url}/`);
    expect(response.status).toBe(500);
    await response.text();
    expect(await eventually(() => bodies[0]?.closes === 1)).toBe(true);
    await delay(100);
    expect(bodies[0]!.closes).toBe(1);
  });

  it('is called exactly once when the client disconnects mid-stream (endless sync iterable)', async () => {
    const bodies: ClosableBody[] = [];
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableBody([], { endless: true });
      bodies.push(body);
      return body;
    }, backend);
    await readSomeThenDisconnect(server.port, '/endless', 256 * 1024);
    expect(await eventually(() => bodies[0]?.closes === 1, 5000)).toBe(true);
    await delay(200);
    expect(bodies[0]!.closes).toBe(1);
    // The server still serves, and a second disconnect closes the second body.
    expect(await readSomeThenDisconnect(server.port, '/again', 64 * 1024)).toBeGreaterThanOrEqual(64 * 1024);
    expect(await eventually(() => bodies[1]?.closes === 1, 5000)).toBe(true);
  });

  it('is called exactly once when the client disconnects mid-stream (endless async iterable)', async () => {
    const bodies: ClosableAsyncBody[] = [];
    server = await startServer(async (_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableAsyncBody();
      bodies.push(body);
      return body;
    }, backend);
    await readSomeThenDisconnect(server.port, '/endless', 256 * 1024);
    expect(await eventually(() => bodies[0]?.closes === 1, 5000)).toBe(true);
    await delay(200);
    expect(bodies[0]!.closes).toBe(1);
  });

  it('runs an async generator body’s finally block when the client disconnects', async () => {
    let finalized = 0;
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return (async function* () {
        try {
          const block = 'z'.repeat(64 * 1024);
          for (;;) {
            await Promise.resolve();
            yield block;
          }
        } finally {
          finalized++;
        }
      })();
    }, backend);
    await readSomeThenDisconnect(server.port, '/endless', 256 * 1024);
    expect(await eventually(() => finalized === 1, 5000)).toBe(true);
    await delay(100);
    expect(finalized).toBe(1);
  });
});

describeBackends('access log on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  const app: GatewayApp = (environ, startResponse) => {
    if (environ.PATH_INFO === '/missing') {
      startResponse('404 Not Found', []);
      return ['nope'];
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return ['Hello, world!'];
  };

  const CLF = /^127\.0\.0\.1 - - \[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] /;

  it('writes one Common Log Format line per request when enabled', async () => {
    server = await startServer(app, backend, { accessLog: true });
    const first = await fetch(`${server.url}/p?q=1`);
    expect(await first.text()).toBe('Hello, world!');
    expect(await eventually(() => server!.access.length >= 1)).toBe(true);
    const lines = () => server!.access.join('').split('\n').filter((line) => line !== '');
    expect(lines()).toHaveLength(1);
    const line = lines()[0]!;
    expect(line).toMatch(CLF);
    expect(line).toMatch(/\] "GET \/p\?q=1 HTTP\/1\.1" 200 13$/);
    // The timestamp is now, in UTC.
    const stamp = /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) \+0000\]/.exec(line)!;
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const when = Date.UTC(+stamp[3]!, months.indexOf(stamp[2]!), +stamp[1]!, +stamp[4]!, +stamp[5]!, +stamp[6]!);
    expect(Math.abs(Date.now() - when)).toBeLessThan(60_000);

    await (await fetch(`${server.url}/missing`)).text();
    expect(await eventually(() => lines().length === 2)).toBe(true);
    expect(lines()[1]).toMatch(CLF);
    expect(lines()[1]).toMatch(/\] "GET \/missing HTTP\/1\.1" 404 4$/);
    await delay(100);
    expect(lines()).toHaveLength(2);
  });

  it('logs server-written responses too (500)', async () => {
    server = await startServer(() => {
      throw new Error('boom');
    }, backend, { accessLog: true });
    await (await fetch(`${server.url}/err`)).text();
    expect(await eventually(() => server!.access.length >= 1)).toBe(true);
    const lines = server.access.join('').split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\] "GET \/err HTTP\/1\.1" 500 22$/);
  });

  it('writes nothing when disabled', async () => {
    server = await startServer(app, backend);
    await (await fetch(`${server.url}/p?q=1`)).text();
    await (await fetch(`${server.url}/missing`)).text();
    await delay(100);
    expect(server.access).toEqual([]);
  });
});

// HEAD, 204 and 304 end a response without sending a body: on uws this path once aborted the
// whole process (uWS: "Returning from a request handler without responding ... is forbidden!").
describeBackends('HEAD and bodiless statuses on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it.each(['array', 'generator', 'declared'])(
    'HEAD runs the app, announces the length a GET would announce and sends no body (%s)',
    async (kind) => {
      const calls: string[] = [];
      const body = 'the body of the resource';
      server = await startServer((environ, startResponse) => {
        calls.push(environ.REQUEST_METHOD);
        const headers: HeaderPair[] = [['Content-Type', 'text/plain']];
        if (kind === 'declared') headers.push(['Content-Length', String(body.length)]);
        startResponse('200 OK', headers);
        if (kind === 'array') return [body];
        return (function* () {
          yield body.slice(0, 10);
          yield body.slice(10);
        })();
      }, backend);
      const conn = await RawConn.open(server.port);
      try {
        conn.write(HEAD('/r') + GET('/r'));
        const head = await conn.read({ head: true });
        expect(head.status).toBe(200);
        // A GET streams a generator body chunked, with no length; HEAD announces none either.
        expect(head.header('content-length')).toEqual(kind === 'generator' ? [] : [String(body.length)]);
        expect(head.header('transfer-encoding')).toEqual([]);
        // No body bytes: what follows the HEAD response is the GET response itself.
        expect(conn.pending().length === 0 || conn.pending().toString('latin1').startsWith('HTTP/1.1 ')).toBe(true);
        const get = await conn.read();
        expect(get.status).toBe(200);
        expect(get.body.toString()).toBe(body);
        if (kind !== 'generator') expect(get.header('content-length')).toEqual([String(body.length)]);
        expect(calls).toEqual(['HEAD', 'GET']);
      } finally {
        conn.destroy();
      }
    },
  );

  it('HEAD answers at once for an endless streamed body, and stops iterating it', async () => {
    let yielded = 0;
    let finalized = false;
    server = await startServer((_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/event-stream']]);
      return (function* () {
        try {
          for (;;) {
            yielded++;
            yield 'data: tick\n\n';
          }
        } finally {
          finalized = true;
        }
      })();
    }, backend);
    const response = await fetch(`${server.url}/events`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('content-length')).toBeNull();
    expect(yielded).toBe(1);
    expect(finalized).toBe(true);
  });

  it.each([
    ['204 No Content', 'array'],
    ['204 No Content', 'generator'],
    ['304 Not Modified', 'array'],
    ['304 Not Modified', 'generator'],
  ])('%s (%s body) has no body and no Content-Length or Transfer-Encoding', async (status, kind) => {
    server = await startServer((environ, startResponse) => {
      if (environ.PATH_INFO === '/next') {
        startResponse('200 OK', []);
        return ['next'];
      }
      startResponse(status, [['X-Status', status.slice(0, 3)]]);
      if (kind === 'array') return [];
      return (function* () {
        yield '';
      })();
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/bodiless') + GET('/next'));
      const response = await conn.read();
      expect(response.status).toBe(Number(status.slice(0, 3)));
      expect(response.header('x-status')).toEqual([status.slice(0, 3)]);
      expect(response.header('content-length')).toEqual([]);
      expect(response.header('transfer-encoding')).toEqual([]);
      // Nothing between this response and the next one.
      expect(conn.pending().length === 0 || conn.pending().toString('latin1').startsWith('HTTP/1.1 200')).toBe(true);
      const next = await conn.read();
      expect(next.status).toBe(200);
      expect(next.body.toString()).toBe('next');
    } finally {
      conn.destroy();
    }
  });

  it('a 204 whose app returns body bytes still sends none', async () => {
    server = await startServer((environ, startResponse) => {
      if (environ.PATH_INFO === '/next') {
        startResponse('200 OK', []);
        return ['next'];
      }
      startResponse('204 No Content', []);
      return ['stray bytes'];
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(GET('/bodiless') + GET('/next'));
      const response = await conn.read();
      expect(response.status).toBe(204);
      expect(response.header('content-length')).toEqual([]);
      expect(response.header('transfer-encoding')).toEqual([]);
      const next = await conn.read();
      expect(next.status).toBe(200);
      expect(next.body.toString()).toBe('next');
    } finally {
      conn.destroy();
    }
  });

  it('close() is called exactly once on a HEAD request', async () => {
    const bodies: ClosableBody[] = [];
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      const body = new ClosableBody(['abc']);
      bodies.push(body);
      return body;
    }, backend);
    const response = await fetch(`${server.url}/`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await eventually(() => bodies[0]?.closes === 1)).toBe(true);
    await delay(100);
    expect(bodies[0]!.closes).toBe(1);
  });

  it('the access log records a HEAD request with 0 body bytes', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return ['Hello, world!'];
    }, backend, { accessLog: true });
    const response = await fetch(`${server.url}/x`, { method: 'HEAD' });
    expect(response.headers.get('content-length')).toBe('13');
    await response.text();
    expect(await eventually(() => server!.access.length >= 1)).toBe(true);
    const lines = server.access.join('').split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^127\.0\.0\.1 - - \[[^\]]+\] "HEAD \/x HTTP\/1\.1" 200 0$/);
  });
});
