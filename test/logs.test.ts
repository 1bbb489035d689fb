/**
 * Logs as an operator reads them: access-log formats (common, combined, json, gunicorn's atoms)
 * for both interfaces, the proxied client in the line, --access-logfile and --error-logfile, and
 * both reopened on USR1 after logrotate moved them, in one process and under the supervisor.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventApp, GatewayApp } from '../src/index.js';
import { killChildren, run } from './cli-process.js';
import { describeBackends, eventually, startServer, type TestServer } from './helpers.js';

const hello: GatewayApp = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain'], ['X-Trace', 'abc']]);
  return ['hello'];
};

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  killChildren();
});

async function oneLine(server: TestServer, init?: RequestInit, target = '/path?q=1'): Promise<string> {
  await (await fetch(`${server.url}${target}`, init)).text();
  expect(await eventually(() => server.access.length > 0)).toBe(true);
  return server.access.at(-1)!;
}

describeBackends('access log formats on %s', (backend) => {
  it('combined: common plus Referer and User-Agent', async () => {
    server = await startServer(hello, backend, { accessLog: true, accessLogFormat: 'combined' });
    const line = await oneLine(server, { headers: { Referer: 'http://ref.example/', 'User-Agent': 'probe/1.0' } });
    expect(line).toMatch(/^(::ffff:)?127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/path\?q=1 HTTP\/1\.1" 200 5 "http:\/\/ref\.example\/" "probe\/1\.0"\n$/);
  });

  it('json: one object per line with the duration and the pid', async () => {
    server = await startServer(hello, backend, { accessLog: true, accessLogFormat: 'json' });
    const entry = JSON.parse(await oneLine(server)) as Record<string, unknown>;
    expect(entry).toMatchObject({ method: 'GET', path: '/path', query: 'q=1', protocol: 'HTTP/1.1', status: 200, bytes: 5, pid: process.pid });
    expect(typeof entry.duration_ms).toBe('number');
    expect(entry.duration_ms as number).toBeGreaterThanOrEqual(0);
    expect(Date.parse(entry.time as string)).not.toBeNaN();
  });

  it("a template of gunicorn's atoms, request and response headers included", async () => {
    const format = '%(h)s "%(r)s" %(s)s %(b)s %(D)sus pid=%(p)s ua=%(a)s req=%({x-request-id}i)s trace=%({X-Trace}o)s none=%({x-none}o)s';
    server = await startServer(hello, backend, { accessLog: true, accessLogFormat: format });
    const line = await oneLine(server, { headers: { 'X-Request-Id': 'r-42', 'User-Agent': 'probe' } });
    expect(line).toMatch(/^(::ffff:)?127\.0\.0\.1 "GET \/path\?q=1 HTTP\/1\.1" 200 5 \d+us pid=<\d+> ua=probe req=r-42 trace=abc none=-\n$/);
  });

  it('event apps and websockets log the same way; the client is the one proxy headers name', async () => {
    const app: EventApp = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 201, headers: [['x-trace', 'ev']] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode('made') });
    };
    server = await startServer(app, backend, { interface: 'event', accessLog: true, accessLogFormat: '%(h)s %(m)s %(U)s %(s)s %(B)s %({x-trace}o)s' });
    const line = await oneLine(server, { headers: { 'X-Forwarded-For': '203.0.113.5' } }, '/made');
    expect(line).toBe('203.0.113.5 GET /made 201 4 ev\n');
  });
});

it('an unknown atom exits 2 naming it and the valid ones', async () => {
  const result = run(['--access-log-format', '%(h)s %(zz)s', 'examples/hello.mjs']);
  expect(await result.exited).toBe(2);
  const stderr = result.stderr.join('');
  expect(stderr).toContain('--access-log-format');
  expect(stderr).toContain('"zz"');
});

/** Waits until `file` holds a line matching `pattern`. */
async function fileHas(file: string, pattern: RegExp, timeoutMs = 10_000): Promise<boolean> {
  return eventually(() => existsSync(file) && pattern.test(readFileSync(file, 'utf8')), timeoutMs);
}

/** Starts the CLI with log files and waits until it serves; returns its port. */
async function startLogged(args: string[], errorFile: string): Promise<{ port: number; proc: ReturnType<typeof run> }> {
  const proc = run(['--bind', '127.0.0.1:0', ...args]);
  expect(await fileHas(errorFile, /listening on http:\/\/127\.0\.0\.1:\d+/)).toBe(true);
  const port = Number(/listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(errorFile, 'utf8'))![1]);
  return { port, proc };
}

describe('log files, reopened on USR1', () => {
  for (const workers of [1, 2]) {
    it(`--access-logfile and --error-logfile move on to fresh files after logrotate and USR1 (${workers} worker${workers === 1 ? '' : 's'})`, async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-logs-'));
      const accessFile = path.join(dir, 'access.log');
      const errorFile = path.join(dir, 'error.log');
      const { port, proc } = await startLogged(
        ['--workers', String(workers), '--access-logfile', accessFile, '--error-logfile', errorFile, 'examples/hello.mjs'],
        errorFile,
      );
      if (workers > 1) expect(await fileHas(errorFile, /ready: 2 workers/)).toBe(true);
      await (await fetch(`http://127.0.0.1:${port}/before`)).text();
      expect(await fileHas(accessFile, /"GET \/before HTTP\/1\.1" 200 13/)).toBe(true);
      // logrotate's default: move the files away, then tell the server.
      renameSync(accessFile, `${accessFile}.1`);
      renameSync(errorFile, `${errorFile}.1`);
      proc.child.kill('SIGUSR1');
      expect(await fileHas(errorFile, /SIGUSR1: log files reopened/)).toBe(true);
      // Once the signal has been handled, lines land in the new file: ask until one does.
      const deadline = Date.now() + 10_000;
      let i = 0;
      while (!(existsSync(accessFile) && /\/after-/.test(readFileSync(accessFile, 'utf8'))) && Date.now() < deadline) {
        await (await fetch(`http://127.0.0.1:${port}/after-${i++}`, { headers: { Connection: 'close' } })).text();
      }
      expect(readFileSync(accessFile, 'utf8')).toMatch(/"GET \/after-\d+ HTTP\/1\.1" 200 13/);
      expect(readFileSync(`${accessFile}.1`, 'utf8')).toContain('"GET /before HTTP/1.1" 200 13');
      expect(readFileSync(`${errorFile}.1`, 'utf8')).toMatch(/listening on/);
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      // Nothing went to the standard streams that the files should have had.
      expect(proc.stdout.join('')).toBe('');
    });
  }
});
