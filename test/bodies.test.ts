/**
 * Bodies both ways: request bodies (buffered for sync apps, streamed for async apps, the size
 * limit) and response bodies (arrays, iterables, async iterables, the legacy write(), large and
 * slowly-read responses), over real sockets on both backends.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { afterEach, expect, it } from 'vitest';
import type { Environ, GatewayApp, StartResponse } from '../src/index.js';
import { RawConn } from './raw-conn.js';
import { describeBackends, rawRequest, parseResponses, startServer, type TestServer } from './helpers.js';

// --- small helpers ---------------------------------------------------------------------------

const MiB = 1024 * 1024;

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes: byte i is (i * 7 + 3) mod 251, so misplaced or lost bytes change the hash. */
function patternBytes(size: number, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = ((offset + i) * 7 + 3) % 251;
  return out;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

function json(startResponse: StartResponse, value: unknown): string[] {
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(value)];
}

/** Decodes a chunked body held in one Buffer; throws when the framing is incomplete. */
function decodeChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', pos);
    if (lineEnd === -1) throw new Error('incomplete chunked body');
    const size = parseInt(raw.subarray(pos, lineEnd).toString('latin1'), 16);
    pos = lineEnd + 2;
    if (size === 0) return Buffer.concat(parts);
    if (raw.length < pos + size + 2) throw new Error('incomplete chunked body');
    parts.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
}

describeBackends('request bodies on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  /** A sync app exercising the whole read() family on a buffered body. */
  const readerApp: GatewayApp = (environ, startResponse) => {
    const input = environ['tsgi.input'];
    const mode = environ.QUERY_STRING;
    if (mode === 'all') return json(startResponse, { all: text(input.read()), after: input.read().byteLength });
    if (mode === 'mixed') {
      const first = text(input.read(3));
      const line = text(input.readline());
      const capped = text(input.readline(2));
      const restOfLine = text(input.readline());
      const lines = input.readlines().map(text);
      return json(startResponse, {
        first,
        line,
        capped,
        restOfLine,
        lines,
        endRead: input.read().byteLength,
        endReadline: input.readline().byteLength,
        endReadlines: input.readlines().length,
      });
    }
    if (mode === 'negative') {
      const head = text(input.read(2));
      return json(startResponse, { head, rest: text(input.read(-1)), after: input.read(5).byteLength });
    }
    if (mode === 'hint') return json(startResponse, { lines: input.readlines(5).map(text), rest: text(input.read()) });
    return json(startResponse, { error: 'unknown mode' });
  };

  it('a sync app gets a Content-Length body buffered: read()', async () => {
    server = await startServer(readerApp, backend);
    const response = await fetch(`${server.url}/?all`, { method: 'POST', body: 'hello body' });
    expect(await response.json()).toEqual({ all: 'hello body', after: 0 });
  });

  it('a sync app gets a Content-Length body buffered: read(n), readline(), readline(n), readlines()', async () => {
    server = await startServer(readerApp, backend);
    const response = await fetch(`${server.url}/?mixed`, { method: 'POST', body: 'abcdef\nghijkl\nline3\nline4' });
    expect(await response.json()).toEqual({
      first: 'abc',
      line: 'def\n',
      capped: 'gh',
      restOfLine: 'ijkl\n',
      lines: ['line3\n', 'line4'],
      endRead: 0,
      endReadline: 0,
      endReadlines: 0,
    });
  });

  it('read(-1) returns everything left', async () => {
    server = await startServer(readerApp, backend);
    const response = await fetch(`${server.url}/?negative`, { method: 'POST', body: 'abcdef' });
    expect(await response.json()).toEqual({ head: 'ab', rest: 'cdef', after: 0 });
  });

  it('readlines(hint) stops once hint bytes are collected', async () => {
    server = await startServer(readerApp, backend);
    const response = await fetch(`${server.url}/?hint`, { method: 'POST', body: 'ab\ncd\nef\ngh\n' });
    expect(await response.json()).toEqual({ lines: ['ab\n', 'cd\n'], rest: 'ef\ngh\n' });
  });

  it('a sync app gets a chunked body buffered (raw Transfer-Encoding: chunked)', async () => {
    server = await startServer(readerApp, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write(
        'POST /?mixed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '4\r\nabcd\r\n' +
          '6\r\nef\nghi\r\n' +
          'a\r\njkl\nline3\n\r\n' +
          '5\r\nline4\r\n' +
          '0\r\n\r\n',
      );
      const response = await conn.read();
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body.toString('utf8'))).toEqual({
        first: 'abc',
        line: 'def\n',
        capped: 'gh',
        restOfLine: 'ijkl\n',
          lines: ['line3\n', 'line4'],
        endRead: 0,
        endReadline: 0,
        endReadlines: 0,
      });
      // The connection carries another request afterwards.
      conn.write('POST /?all HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n');
      const second = await conn.read();
      expect(JSON.parse(second.body.toString('utf8'))).toEqual({ all: 'xyz', after: 0 });
    } finally {
      conn.destroy();
    }
  });

  it('buffers a 3 MiB body when maxBodySize allows it', async () => {
    server = await startServer((environ, startResponse) => {
      const body = environ['tsgi.input'].read();
      return json(startResponse, { length: body.byteLength, hash: sha256(body) });
    }, backend, { maxBodySize: 4 * MiB });
    const payload = patternBytes(3 * MiB);
    const response = await fetch(`${server.url}/big`, { method: 'POST', body: payload });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ length: 3 * MiB, hash: sha256(payload) });
  });

  it('answers 413 to a Content-Length over the default 1 MiB limit without calling the app', async () => {
    let calls = 0;
    server = await startServer((_environ, startResponse) => {
      calls++;
      startResponse('200 OK', []);
      return ['ok'];
    }, backend);
    // Only the head and a little of the body: the refusal comes from the declared length alone.
    const result = await rawRequest(
      server.port,
      `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${MiB + 1}\r\n\r\n` + 'x'.repeat(1000),
      3000,
    );
    const [response] = parseResponses(result.text);
    expect(response?.status).toBe(413);
    expect(result.closed).toBe(true);
    expect(calls).toBe(0);

    // The server keeps serving on a new connection.
    const next = await fetch(`${server.url}/after`);
    expect(next.status).toBe(200);
    expect(await next.text()).toBe('ok');
    expect(calls).toBe(1);
  });

  it('a body exactly at the limit is accepted', async () => {
    server = await startServer((environ, startResponse) => {
      return json(startResponse, { length: environ['tsgi.input'].read().byteLength });
    }, backend, { maxBodySize: 1000 });
    const response = await fetch(`${server.url}/`, { method: 'POST', body: 'y'.repeat(1000) });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ length: 1000 });
  });

  it('answers 413 to a chunked body that grows past the limit', async () => {
    let calls = 0;
    server = await startServer((_environ, startResponse) => {
      calls++;
      startResponse('200 OK', []);
      return ['ok'];
    }, backend);
    const piece = 'z'.repeat(600 * 1024);
    const chunk = `${piece.length.toString(16)}\r\n${piece}\r\n`;
    // Two chunks pass the 1 MiB limit; the body never ends, so only the limit can answer.
    const result = await rawRequest(
      server.port,
      ['POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', chunk, chunk],
      3000,
    );
    const [response] = parseResponses(result.text);
    expect(response?.status).toBe(413);
    expect(result.closed).toBe(true);
    expect(calls).toBe(0);

    const next = await fetch(`${server.url}/after`);
    expect(await next.text()).toBe('ok');
  });

  it('an async app streams a 20 MiB upload with for await', async () => {
    server = await startServer(async (environ, startResponse) => {
      const hash = createHash('sha256');
      let bytes = 0;
      let chunks = 0;
      for await (const chunk of environ['tsgi.input']) {
        bytes += chunk.byteLength;
        chunks++;
        hash.update(chunk);
      }
      return json(startResponse, { bytes, chunks, hash: hash.digest('hex') });
    }, backend);
    const size = 20 * MiB;
    const payload = patternBytes(size);
    const response = await fetch(`${server.url}/upload`, { method: 'POST', body: payload });
    expect(response.status).toBe(200);
    const seen = (await response.json()) as { bytes: number; chunks: number; hash: string };
    expect(seen.bytes).toBe(size);
    expect(seen.hash).toBe(sha256(payload));
    // It arrived in pieces, not as one buffered blob.
    expect(seen.chunks).toBeGreaterThan(1);
  });

  it('an async app streams a chunked upload with for await', async () => {
    server = await startServer(async (environ, startResponse) => {
      const parts: string[] = [];
      for await (const chunk of environ['tsgi.input']) parts.push(text(chunk));
      return json(startResponse, { body: parts.join('') });
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write('POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
      const response = await conn.read();
      expect(JSON.parse(response.body.toString('utf8'))).toEqual({ body: 'hello world' });
    } finally {
      conn.destroy();
    }
  });

  it('the sync read() in a streaming async app throws an error mentioning for await', async () => {
    server = await startServer(async (environ, startResponse) => {
      const input = environ['tsgi.input'];
      const messages: string[] = [];
      for (const call of [() => input.read(), () => input.readline(), () => input.readlines()]) {
        try {
          call();
          messages.push('no error');
        } catch (error) {
          messages.push((error as Error).message);
        }
      }
      // The body is still readable the streaming way afterwards.
      let bytes = 0;
      for await (const chunk of input) bytes += chunk.byteLength;
      return json(startResponse, { messages, bytes });
    }, backend);
    const response = await fetch(`${server.url}/`, { method: 'POST', body: 'some body' });
    const seen = (await response.json()) as { messages: string[]; bytes: number };
    expect(seen.messages).toHaveLength(3);
    for (const message of seen.messages) expect(message).toContain('for await');
    expect(seen.bytes).toBe(9);
  });

  it("app.tsgiInput = 'buffered' makes the sync read() work in an async app", async () => {
    const app = async (environ: Environ, startResponse: StartResponse) => {
      const input = environ['tsgi.input'];
      return json(startResponse, { first: text(input.readline()), rest: text(input.read()) });
    };
    (app as { tsgiInput?: string }).tsgiInput = 'buffered';
    server = await startServer(app, backend);
    const response = await fetch(`${server.url}/`, { method: 'POST', body: 'one\ntwo\nthree' });
    expect(await response.json()).toEqual({ first: 'one\n', rest: 'two\nthree' });
  });

  it("app.tsgiInput = 'buffered' on an async app still applies the body limit", async () => {
    let calls = 0;
    const app = async (_environ: Environ, startResponse: StartResponse) => {
      calls++;
      startResponse('200 OK', []);
      return ['ok'];
    };
    (app as { tsgiInput?: string }).tsgiInput = 'buffered';
    server = await startServer(app, backend, { maxBodySize: 100 });
    const result = await rawRequest(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n', 3000);
    expect(parseResponses(result.text)[0]?.status).toBe(413);
    expect(calls).toBe(0);
  });

  it("app.tsgiInput = 'stream' makes a sync-style app stream (called before the body is complete)", async () => {
    let readError = '';
    const app: GatewayApp = (environ, startResponse) => {
      const input = environ['tsgi.input'];
      try {
        input.read();
        readError = 'no error';
      } catch (error) {
        readError = (error as Error).message;
      }
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'called\n';
        let bytes = 0;
        for await (const chunk of input) bytes += chunk.byteLength;
        yield `bytes=${bytes}\n`;
      })();
    };
    (app as { tsgiInput?: string }).tsgiInput = 'stream';
    server = await startServer(app, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write('POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello');
      // The app answered while half the body is still unsent: it was not buffered.
      await conn.waitFor(() => conn.pending().includes('called\n'));
      expect(readError).toContain('for await');
      conn.write('world');
      const response = await conn.read();
      expect(response.status).toBe(200);
      expect(response.body.toString('utf8')).toBe('called\nbytes=10\n');
    } finally {
      conn.destroy();
    }
  });

  it('an async app that ignores its body still lets the connection carry the next request', async () => {
    server = await startServer(async (_environ, startResponse) => {
      startResponse('200 OK', []);
      return ['ignored'];
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write('POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde');
      expect((await conn.read()).body.toString()).toBe('ignored');
      conn.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await conn.read()).body.toString()).toBe('ignored');
    } finally {
      conn.destroy();
    }
  });
});

describeBackends('response bodies on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('a single string chunk', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['just one'];
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe('8');
    expect(await response.text()).toBe('just one');
  });

  it('multiple chunks in an array', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return ['one ', '', 'two ', 'three'];
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe('13');
    expect(await response.text()).toBe('one two three');
  });

  it('Uint8Array chunks, mixed with strings', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      return [new Uint8Array([0, 1, 2, 255]), 'AB', Buffer.from([254, 10])];
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe('8');
    expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([0, 1, 2, 255, 65, 66, 254, 10]);
  });

  it('a UTF-8 string: Content-Length counts bytes', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
      return ['héllo'];
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe('6');
    expect(await response.text()).toBe('héllo');
  });

  it('a UTF-8 string among several chunks', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return ['€', ' and ', '日本'];
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength('€ and 日本')));
    expect(await response.text()).toBe('€ and 日本');
  });

  it('an empty array gives an empty body with Content-Length 0', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return [];
    }, backend);
    const result = await RawConn.open(server.port);
    try {
      result.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const response = await result.read();
      expect(response.header('content-length')).toEqual(['0']);
      expect(response.body.byteLength).toBe(0);
    } finally {
      result.destroy();
    }
  });

  it('a generator is sent with chunked Transfer-Encoding', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (function* () {
        yield 'alpha ';
        yield '';
        yield new Uint8Array([98, 101, 116, 97]);
        yield ' gamma';
      })();
    }, backend);
    const conn = await RawConn.open(server.port);
    try {
      conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      const response = await conn.read();
      expect(response.status).toBe(200);
      expect(response.header('transfer-encoding').map((v) => v.toLowerCase())).toEqual(['chunked']);
      expect(response.header('content-length')).toEqual([]);
      expect(response.body.toString()).toBe('alpha beta gamma');
      // The chunked framing ended cleanly: the connection is reusable.
      conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      expect((await conn.read()).body.toString()).toBe('alpha beta gamma');
    } finally {
      conn.destroy();
    }
  });

  it('an async generator from an async app', async () => {
    server = await startServer(async (_e, startResponse) => {
      startResponse('200 OK', []);
      return (async function* () {
        for (let i = 0; i < 5; i++) {
          await new Promise((resolve) => setTimeout(resolve, 2));
          yield `part${i};`;
        }
      })();
    }, backend);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('part0;part1;part2;part3;part4;');
  });

  it('an async generator returned directly by a sync app', async () => {
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', []);
      return (async function* () {
        yield 'x';
        yield new Uint8Array([121]);
      })();
    }, backend);
    expect(await (await fetch(server.url)).text()).toBe('xy');
  });

  it('a promise of an array', async () => {
    server = await startServer((_e, startResponse) => {
      return new Promise<string[]>((resolve) =>
        setTimeout(() => {
          startResponse('200 OK', []);
          resolve(['later', ' on']);
        }, 5),
      );
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe('8');
    expect(await response.text()).toBe('later on');
  });

  it('8 MiB streamed from a generator in 64 KiB chunks arrives intact', async () => {
    const total = 8 * MiB;
    const piece = 64 * 1024;
    const expected = patternBytes(total);
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (function* () {
        for (let offset = 0; offset < total; offset += piece) yield patternBytes(piece, offset);
      })();
    }, backend);
    const response = await fetch(server.url);
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(total);
    expect(sha256(body)).toBe(sha256(expected));
  });

  it('8 MiB streamed with the app declaring Content-Length arrives intact', async () => {
    const total = 8 * MiB;
    const piece = 64 * 1024;
    const expected = patternBytes(total);
    server = await startServer((_e, startResponse) => {
      startResponse('200 OK', [['Content-Length', String(total)]]);
      return (function* () {
        for (let offset = 0; offset < total; offset += piece) yield patternBytes(piece, offset);
      })();
    }, backend);
    const response = await fetch(server.url);
    expect(response.headers.get('content-length')).toBe(String(total));
    const body = new Uint8Array(await response.arrayBuffer());
    expect(body.byteLength).toBe(total);
    expect(sha256(body)).toBe(sha256(expected));
  });

  it('legacy write() followed by returning []', async () => {
    server = await startServer((_e, startResponse) => {
      const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
      write('first ');
      write(new Uint8Array([115, 101, 99, 111, 110, 100]));
      return [];
    }, backend);
    expect(await (await fetch(server.url)).text()).toBe('first second');
  });

  it('legacy write() followed by more chunks keeps the order', async () => {
    server = await startServer((_e, startResponse) => {
      const write = startResponse('200 OK', []);
      write('1-');
      write('2-');
      return ['3-', '4'];
    }, backend);
    expect(await (await fetch(server.url)).text()).toBe('1-2-3-4');
  });

  it('legacy write() followed by a generator keeps the order', async () => {
    server = await startServer((_e, startResponse) => {
      const write = startResponse('200 OK', []);
      write('a');
      return (function* () {
        yield 'b';
        write('c');
        yield 'd';
      })();
    }, backend);
    expect(await (await fetch(server.url)).text()).toBe('abcd');
  });

  it('a slowly-read 32 MiB async-generator response arrives complete', async () => {
    const total = 32 * MiB;
    const piece = 256 * 1024;
    const block = patternBytes(piece);
    let produced = 0;
    server = await startServer(async (_e, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
      return (async function* () {
        for (let offset = 0; offset < total; offset += piece) {
          produced += piece;
          yield block;
        }
      })();
    }, backend);
    const port = server.port;
    const received = await new Promise<{ raw: Buffer; producedAtPause: number; producedAfterPause: number }>(
      (resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let size = 0;
        let paused = false;
        let producedAtPause = 0;
        let producedAfterPause = 0;
        const timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`timed out after ${size} bytes`));
        }, 15_000);
        socket.on('connect', () => socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n'));
        socket.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          size += chunk.length;
          if (!paused && size > 1024 * 1024) {
            paused = true;
            socket.pause();
            setTimeout(() => {
              producedAtPause = produced;
              setTimeout(() => {
                producedAfterPause = produced;
                socket.resume();
              }, 150);
            }, 150);
          }
          if (chunk.length >= 5 && chunk.subarray(chunk.length - 5).toString('latin1') === '0\r\n\r\n') {
            const raw = Buffer.concat(chunks);
            // Only the terminating chunk ends with this exact sequence once the whole body is in.
            try {
              const end = raw.indexOf('\r\n\r\n');
              const body = decodeChunked(raw.subarray(end + 4));
              if (body.byteLength === total) {
                clearTimeout(timer);
                socket.destroy();
                resolve({ raw, producedAtPause, producedAfterPause });
              }
            } catch {
              // Not complete yet: keep reading.
            }
          }
        });
        socket.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        socket.on('close', () => {
          clearTimeout(timer);
          reject(new Error(`connection closed after ${size} bytes`));
        });
      },
    );
    const end = received.raw.indexOf('\r\n\r\n');
    const head = received.raw.subarray(0, end).toString('latin1');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    const body = decodeChunked(received.raw.subarray(end + 4));
    expect(body.byteLength).toBe(total);
    const expected = createHash('sha256');
    for (let offset = 0; offset < total; offset += piece) expected.update(block);
    expect(sha256(body)).toBe(expected.digest('hex'));
    // Backpressure: while the client was not reading, the app was not asked for the whole body.
    expect(received.producedAfterPause).toBeLessThan(total);
  });
});
