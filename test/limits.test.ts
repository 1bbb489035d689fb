/**
 * Connection limits and timeouts as a client meets them: --limit-request-line on every backend;
 * --timeout-keep-alive, --timeout-head (slowloris) and --timeout-body on the backends that
 * honour them (trait `timeouts`), and a clear refusal at start-up on the one that cannot.
 * Timeouts are set to 1 s here; assertions wait for the outcome with generous bounds and never
 * on how fast it came.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, expect, it } from 'vitest';
import type { GatewayApp } from '../src/index.js';
import { describeBackends, delay, parseResponses, rawRequest, startServer, traitsOf, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

describeBackends('limits and timeouts on %s', (backend) => {
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

  const calls: string[] = [];
  const echoApp: GatewayApp = (environ, startResponse) => {
    calls.push(environ.PATH_INFO);
    const body = environ['tsgi.input'].read();
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${environ.PATH_INFO}:${body.byteLength}`];
  };
  afterEach(() => {
    calls.length = 0;
  });

  it('a request line over --limit-request-line gets 414 and the connection closes; shorter ones are served', async () => {
    server = await startServer(echoApp, backend, { limitRequestLine: 100 });
    // `GET /aaa… HTTP/1.1` is 14 bytes plus the a's: 86 of them make exactly 100.
    const ok = await rawRequest(server.port, `GET /${'a'.repeat(86)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 3000);
    expect(parseResponses(ok.text)[0]!.status).toBe(200);
    const result = await rawRequest(server.port, GET(`/${'a'.repeat(87)}`), 3000);
    const [response] = parseResponses(result.text);
    expect(response!.status).toBe(414);
    expect(response!.header('connection')).toEqual(['close']);
    expect(response!.body).toContain('The request line is longer than this server accepts (100 bytes).');
    expect(result.closed).toBe(true);
    expect(calls).toEqual([`/${'a'.repeat(86)}`]);
  });

  const pathApp: GatewayApp = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [String(environ.PATH_INFO)];
  };

  /** A request with `count` header fields in all, Host included. */
  const withFields = (path: string, count: number): string => {
    let head = `GET ${path} HTTP/1.1\r\nHost: x\r\n`;
    for (let i = 1; i < count; i++) head += `X-Field-${i}: ${i}\r\n`;
    return `${head}\r\n`;
  };

  it('a request with more header fields than --limit-request-fields gets 431 and the connection closes', async () => {
    server = await startServer(pathApp, backend, { limitRequestFields: 5 });
    const ok = await rawRequest(server.port, withFields('/five', 5), 1000);
    expect(parseResponses(ok.text)[0]!.body).toBe('/five');
    const result = await rawRequest(server.port, withFields('/six', 6), 3000);
    const [response] = parseResponses(result.text);
    expect(response!.status).toBe(431);
    expect(response!.body).toContain('the request has 6 header fields; this server accepts at most 5');
    expect(result.closed).toBe(true);
  });

  it('the default allows 100 header fields (uws: its own 98)', async () => {
    server = await startServer(pathApp, backend);
    const cap = traitsOf(backend).requestFieldsCap;
    const most = cap ?? 100;
    const ok = await rawRequest(server.port, withFields('/most', most), 1000);
    expect(parseResponses(ok.text)[0]!.body).toBe('/most');
    const [over] = parseResponses((await rawRequest(server.port, withFields('/more', most + 1), 3000)).text);
    expect(over!.status).toBe(431);
    if (cap !== null) {
      await expect(startServer(pathApp, backend, { limitRequestFields: 200 })).rejects.toThrow(/answers 431 past 98 header fields whatever tsgi asks/);
    }
  });

  it('past --limit-concurrency requests get 503 with Retry-After, and are served again once load drops', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app: GatewayApp = async (environ, startResponse) => {
      if (environ.PATH_INFO === '/hold') await gate;
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [String(environ.PATH_INFO)];
    };
    server = await startServer(app, backend, { limitConcurrency: 2, logLevel: 'warning' });
    const held = [await open(), await open()];
    for (const conn of held) conn.write(GET('/hold'));
    // Both are in flight once a third request is refused; ask until the refusal comes.
    let refused = null;
    for (let i = 0; i < 50 && refused === null; i++) {
      const [answer] = parseResponses((await rawRequest(server.port, GET('/third'), 2000)).text);
      if (answer!.status === 503) refused = answer!;
      else await delay(20);
    }
    expect(refused).not.toBeNull();
    expect(refused!.header('retry-after')).toEqual(['1']);
    expect(refused!.header('connection')).toEqual(['close']);
    expect(refused!.body).toContain('at its limit of requests in flight');
    expect(server.errors.join('')).toMatch(/answered 503: 2 in flight \(--limit-concurrency\)/);
    release();
    for (const conn of held) expect((await conn.read({ timeoutMs: 3000 })).status).toBe(200);
    const [after] = parseResponses((await rawRequest(server.port, `GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 3000)).text);
    expect(after!.body).toBe('/after');
  });

  if (traitsOf(backend).connectionLimits) {
    it('--max-requests-per-connection closes a keep-alive connection after that many responses', async () => {
      server = await startServer(pathApp, backend, { maxRequestsPerConnection: 2 });
      const conn = await open();
      conn.write(GET('/one'));
      const first = await conn.read({ timeoutMs: 3000 });
      expect(first.header('connection')).not.toContain('close');
      // The second and a third pipelined behind it: the second is the last this connection serves.
      conn.write(GET('/two') + GET('/three'));
      const second = await conn.read({ timeoutMs: 3000 });
      expect(second.body.toString()).toBe('/two');
      expect(second.header('connection')).toEqual(['close']);
      await conn.waitFor(() => conn.closed, 3000);
      expect(conn.pending().toString()).toBe('');
    });

    it('--backlog sets the listening socket\'s accept queue', async () => {
      server = await startServer(pathApp, backend, { backlog: 77 });
      const listing = spawnSync('ss', ['-ltnH', `sport = :${server.port}`], { encoding: 'utf8' });
      // State Recv-Q Send-Q …: for a listening socket Send-Q is the backlog.
      expect(listing.stdout.trim().split(/\s+/)[2]).toBe('77');
    });
  } else {
    it('refuses --max-requests-per-connection and --backlog it cannot apply, naming the backends that can', async () => {
      await expect(startServer(pathApp, backend, { maxRequestsPerConnection: 2 })).rejects.toThrow(
        /cannot count requests per connection|does not let tsgi count requests per connection.*use --backend llhttp or --backend node/,
      );
      await expect(startServer(pathApp, backend, { backlog: 77 })).rejects.toThrow(/cannot apply --backlog 77; use --backend llhttp or --backend node/);
    });
  }

  if (!traitsOf(backend).timeouts) {
    it('refuses timeouts it cannot apply, naming the backends that can', async () => {
      await expect(startServer(echoApp, backend, { timeoutKeepAlive: 2 })).rejects.toThrow(
        /cannot apply --timeout-keep-alive, --timeout-head or --timeout-body; use --backend llhttp or --backend node/,
      );
    });
    return;
  }

  it('--timeout-keep-alive: an idle keep-alive connection is closed quietly', async () => {
    server = await startServer(echoApp, backend, { timeoutKeepAlive: 1 });
    const used = await open();
    used.write(GET('/once'));
    expect((await used.read()).status).toBe(200);
    await used.waitFor(() => used.closed, 5000);
    // No response for a request that never came.
    expect(used.pending().byteLength).toBe(0);
  });

  it('a connection that never sends a byte is closed (llhttp: by the keep-alive timeout; node: the head timeout, with 408)', async () => {
    server = await startServer(echoApp, backend, { timeoutKeepAlive: 1, timeoutHead: 2 });
    const silent = await open();
    await silent.waitFor(() => silent.closed, 8000);
    const text = silent.pending().toString('latin1');
    if (text !== '') expect(text).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('--timeout-head: a client trickling its head (slowloris) gets 408 and is closed; others are served meanwhile', async () => {
    server = await startServer(echoApp, backend, { timeoutHead: 1, timeoutKeepAlive: 30 });
    const slow = await open();
    slow.write('GET /slow HTTP/1.1\r\nHost: x\r\n');
    let trickling = true;
    const trickle = (async () => {
      for (let i = 0; trickling && !slow.closed && i < 50; i++) {
        await delay(200);
        if (!slow.closed) slow.write(`X-${i}: y\r\n`);
      }
    })();
    const other = await rawRequest(server.port, `GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 3000);
    expect(parseResponses(other.text)[0]!.body).toBe('/other:0');
    const response = await slow.read({ timeoutMs: 8000 });
    trickling = false;
    await trickle;
    expect(response.status).toBe(408);
    expect(response.header('connection')).toEqual(['close']);
    await slow.waitFor(() => slow.closed, 5000);
    expect(calls).toEqual(['/other']);
  });

  it('--timeout-body: a body that stops arriving gets 408 before the (buffered) app is ever called', async () => {
    server = await startServer(echoApp, backend, { timeoutBody: 1 });
    const conn = await open();
    conn.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    const response = await conn.read({ timeoutMs: 8000 });
    expect(response.status).toBe(408);
    expect(response.header('connection')).toEqual(['close']);
    await conn.waitFor(() => conn.closed, 5000);
    expect(calls).toEqual([]);
  });

  it('--timeout-body: a stall after the response started cuts the connection; the app learns the client is gone', async () => {
    let outcome = '';
    server = await startServer(async (environ, startResponse) => {
      const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
      write('started\n');
      try {
        for await (const chunk of environ['tsgi.input']) void chunk;
        outcome = 'complete';
      } catch (error) {
        outcome = (error as Error).message;
      }
      return [];
    }, backend, { timeoutBody: 1 });
    const conn = await open();
    conn.write('POST /stream HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789');
    await conn.waitFor(() => conn.pending().includes('started'), 5000);
    await conn.waitFor(() => conn.closed, 8000);
    const text = conn.pending().toString('latin1');
    expect(text.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
    // Chunked and never finished: no last chunk.
    expect(text).not.toContain('\r\n0\r\n\r\n');
    await delay(50);
    expect(outcome).toMatch(/disconnected|ended/);
  });

  it('a slow but steady upload is never cut by the body timeout', async () => {
    server = await startServer(echoApp, backend, { timeoutBody: 1 });
    const conn = await open();
    conn.write('POST /steady HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\n');
    for (let i = 0; i < 6; i++) {
      await delay(400);
      conn.write('ab');
    }
    const response = await conn.read({ timeoutMs: 5000 });
    expect(response.status).toBe(200);
    expect(response.body.toString()).toBe('/steady:12');
  });
});
