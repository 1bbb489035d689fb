/**
 * The environ contract (docs/spec.md, "The environ"): what an app sees for each request, checked
 * over real sockets on both backends. The app serialises its environ as JSON in the body.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Environ, GatewayApp } from '../src/index.js';
import { RawConn } from './raw-conn.js';
import { describeBackends, eventually, startServer, type TestServer, traitsOf } from './helpers.js';

// --- the app under test ----------------------------------------------------------------------

type Seen = Record<string, unknown>;

const environApp: GatewayApp = (environ: Environ, startResponse) => {
  const seen: Seen = {};
  for (const [key, value] of Object.entries(environ)) {
    if (key === 'tsgi.input') {
      const input = value as Environ['tsgi.input'];
      seen[key] = {
        read: typeof input?.read,
        readline: typeof input?.readline,
        readlines: typeof input?.readlines,
        asyncIterator: typeof input?.[Symbol.asyncIterator],
      };
    } else if (key === 'tsgi.errors') {
      const errors = value as Environ['tsgi.errors'];
      seen[key] = { write: typeof errors?.write, writelines: typeof errors?.writelines, flush: typeof errors?.flush };
    } else {
      seen[key] = value;
    }
  }
  if (environ.PATH_INFO === '/log') {
    environ['tsgi.errors'].write('app-note: written through tsgi.errors\n');
    environ['tsgi.errors'].writelines(['app-line-1\n', 'app-line-2\n']);
    environ['tsgi.errors'].flush();
  }
  // Sync app: a body, when sent, is buffered; consume it so the test also proves it was there.
  seen.__body = Buffer.from(environ['tsgi.input'].read()).toString('utf8');
  startResponse('200 OK', [['Content-Type', 'application/json']]);
  return [JSON.stringify(seen)];
};

async function rawEnviron(port: number, requestHead: string, body = ''): Promise<{ seen: Seen; localPort: number }> {
  const conn = await RawConn.open(port);
  try {
    conn.write(requestHead + body);
    const response = await conn.read();
    expect(response.status).toBe(200);
    return { seen: JSON.parse(response.body.toString('utf8')) as Seen, localPort: conn.localPort };
  } finally {
    conn.destroy();
  }
}

function get(path: string, extraHeaders = ''): string {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}\r\n`;
}

describeBackends('environ on %s', (backend) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(environApp, backend);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('has the CGI keys with the documented values for a plain GET', async () => {
    const response = await fetch(`${server.url}/hello/world`);
    expect(response.status).toBe(200);
    const seen = (await response.json()) as Seen;
    expect(seen.REQUEST_METHOD).toBe('GET');
    expect(seen.SCRIPT_NAME).toBe('');
    expect(seen.PATH_INFO).toBe('/hello/world');
    expect(seen['tsgi.raw_path']).toBe('/hello/world');
    expect(seen.QUERY_STRING).toBe('');
    expect(seen.SERVER_NAME).toBe('127.0.0.1');
    expect(seen.SERVER_PORT).toBe(String(server.port));
    expect(seen.SERVER_PORT).not.toBe('0');
    expect(seen.SERVER_PROTOCOL).toBe('HTTP/1.1');
    expect(seen.REMOTE_ADDR).toBe('127.0.0.1');
    expect(typeof seen.REMOTE_PORT).toBe('string');
  });

  it('has the tsgi.* keys', async () => {
    const seen = (await (await fetch(`${server.url}/`)).json()) as Seen;
    expect(seen['tsgi.version']).toEqual([1, 0]);
    expect(seen['tsgi.url_scheme']).toBe('http');
    expect(seen['tsgi.multithread']).toBe(false);
    expect(seen['tsgi.multiprocess']).toBe(false);
    expect(seen['tsgi.run_once']).toBe(false);
    expect(seen['tsgi.input']).toEqual({
      read: 'function',
      readline: 'function',
      readlines: 'function',
      asyncIterator: 'function',
    });
    expect(seen['tsgi.errors']).toEqual({ write: 'function', writelines: 'function', flush: 'function' });
    // A bodiless request reads as empty.
    expect(seen.__body).toBe('');
  });

  it('passes other methods through as sent', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const response = await fetch(`${server.url}/m`, { method });
      const seen = (await response.json()) as Seen;
      expect(seen.REQUEST_METHOD).toBe(method);
    }
  });

  it('REMOTE_PORT is the client socket port (node) or empty (uws build without getRemotePort)', async () => {
    const { seen, localPort } = await rawEnviron(server.port, get('/port'));
    expect(seen.REMOTE_ADDR).toBe('127.0.0.1');
    if (traitsOf(backend).peerPort) {
      expect(seen.REMOTE_PORT).toBe(String(localPort));
    } else {
      expect(seen.REMOTE_PORT).toBe('');
    }
  });

  it('percent-decodes PATH_INFO as UTF-8 and keeps the raw path in tsgi.raw_path', async () => {
    const cafe = await rawEnviron(server.port, get('/caf%C3%A9'));
    expect(cafe.seen.PATH_INFO).toBe('/café');
    expect(cafe.seen['tsgi.raw_path']).toBe('/caf%C3%A9');

    const slash = await rawEnviron(server.port, get('/a%2Fb'));
    expect(slash.seen.PATH_INFO).toBe('/a/b');
    expect(slash.seen['tsgi.raw_path']).toBe('/a%2Fb');

    const space = await rawEnviron(server.port, get('/x%20y?z=%20'));
    expect(space.seen.PATH_INFO).toBe('/x y');
    // The query string is never decoded.
    expect(space.seen.QUERY_STRING).toBe('z=%20');
  });

  it('leaves malformed escapes literal', async () => {
    const bad = await rawEnviron(server.port, get('/%zz'));
    expect(bad.seen.PATH_INFO).toBe('/%zz');
    expect(bad.seen['tsgi.raw_path']).toBe('/%zz');

    // A malformed escape does not stop the valid ones around it from being decoded.
    const mixed = await rawEnviron(server.port, get('/caf%C3%A9/%zz/%41'));
    expect(mixed.seen.PATH_INFO).toBe('/café/%zz/A');

    const trailing = await rawEnviron(server.port, get('/end%'));
    expect(trailing.seen.PATH_INFO).toBe('/end%');
  });

  it('QUERY_STRING is the raw query without "?"', async () => {
    const { seen } = await rawEnviron(server.port, get('/q?a=1&b=%41+c&a=2'));
    expect(seen.PATH_INFO).toBe('/q');
    expect(seen['tsgi.raw_path']).toBe('/q');
    expect(seen.QUERY_STRING).toBe('a=1&b=%41+c&a=2');

    const none = await rawEnviron(server.port, get('/q'));
    expect(none.seen.QUERY_STRING).toBe('');
  });

  it('CONTENT_TYPE and CONTENT_LENGTH appear only when sent, never as HTTP_CONTENT_*', async () => {
    const withBody = await fetch(`${server.url}/post`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain; charset=utf-8' },
      body: 'hello',
    });
    const seen = (await withBody.json()) as Seen;
    expect(seen.CONTENT_TYPE).toBe('text/plain; charset=utf-8');
    expect(seen.CONTENT_LENGTH).toBe('5');
    expect(seen.__body).toBe('hello');
    expect(seen).not.toHaveProperty('HTTP_CONTENT_TYPE');
    expect(seen).not.toHaveProperty('HTTP_CONTENT_LENGTH');

    const { seen: bare } = await rawEnviron(server.port, get('/bare'));
    expect(bare).not.toHaveProperty('CONTENT_TYPE');
    expect(bare).not.toHaveProperty('CONTENT_LENGTH');
    expect(bare).not.toHaveProperty('HTTP_CONTENT_TYPE');
    expect(bare).not.toHaveProperty('HTTP_CONTENT_LENGTH');

    // A Content-Type without a body is still reported.
    const { seen: typed } = await rawEnviron(server.port, get('/typed', 'Content-Type: application/json\r\n'));
    expect(typed.CONTENT_TYPE).toBe('application/json');
    expect(typed).not.toHaveProperty('CONTENT_LENGTH');
    expect(typed).not.toHaveProperty('HTTP_CONTENT_TYPE');
  });

  it('maps each header to one HTTP_* key (upper-case, "-" to "_")', async () => {
    const { seen } = await rawEnviron(
      server.port,
      get('/h', 'X-Custom-Thing: Value One\r\naccept-language: fr\r\nUser-Agent: raw-test/1.0\r\n'),
    );
    expect(seen.HTTP_HOST).toBe('127.0.0.1');
    expect(seen.HTTP_X_CUSTOM_THING).toBe('Value One');
    expect(seen.HTTP_ACCEPT_LANGUAGE).toBe('fr');
    expect(seen.HTTP_USER_AGENT).toBe('raw-test/1.0');
    // Every header key is HTTP_ + upper-case with underscores only.
    const headerKeys = Object.keys(seen).filter((key) => key.startsWith('HTTP_'));
    expect(headerKeys.sort()).toEqual(['HTTP_ACCEPT_LANGUAGE', 'HTTP_HOST', 'HTTP_USER_AGENT', 'HTTP_X_CUSTOM_THING']);
    for (const key of headerKeys) expect(key).toMatch(/^HTTP_[A-Z0-9_]+$/);
  });

  it('joins repeated headers with ", "', async () => {
    const { seen } = await rawEnviron(
      server.port,
      get('/rep', 'X-Multi: one\r\nAccept: text/html\r\nX-Multi: two\r\nx-multi: three\r\n'),
    );
    expect(seen.HTTP_X_MULTI).toBe('one, two, three');
    expect(seen.HTTP_ACCEPT).toBe('text/html');
  });

  it('drops headers whose name contains "_"', async () => {
    const { seen } = await rawEnviron(
      server.port,
      get('/underscore', 'X_Spoofed: evil\r\nX-User: real\r\nX_User: spoof\r\n'),
    );
    expect(seen.HTTP_X_USER).toBe('real');
    expect(seen).not.toHaveProperty('HTTP_X_SPOOFED');
    const values = Object.values(seen).filter((value) => typeof value === 'string') as string[];
    expect(values.some((value) => value.includes('evil') || value.includes('spoof'))).toBe(false);
  });

  it('tsgi.errors writes reach the server error log', async () => {
    const before = server.errors.length;
    const response = await fetch(`${server.url}/log`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
    const logged = () => server.errors.slice(before).join('');
    expect(await eventually(() => logged().includes('app-line-2'))).toBe(true);
    expect(logged()).toContain('app-note: written through tsgi.errors\n');
    expect(logged()).toContain('app-line-1\n');
  });
});
