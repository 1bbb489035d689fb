/**
 * The `tsgi` command as a user runs it: a real child process serving real HTTP.
 * Needs `dist/` (npm test builds it first).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, killChildren, run, start } from './cli-process.js';
import { describeBackends, rawRequest, parseResponses } from './helpers.js';

afterEach(killChildren);

describe('tsgi command line', () => {
  it('runs as a program of its own, as npx tsgi and the installed bin run it', async () => {
    // The build marks dist/cli/main.js executable; without that, `npx tsgi` in a fresh clone
    // fails with "Permission denied".
    const { stdout } = await promisify(execFile)(cli, ['--version']);
    expect(stdout).toMatch(/^tsgi \d+\.\d+\.\d+/);
  });

  it('prints help and version', async () => {
    const help = run(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout.join('')).toContain('Usage: tsgi [options] MODULE[:EXPORT]');
    expect(help.stdout.join('')).toContain('--max-body-size');
    // The backends, what each trades, and what auto picks.
    const text = help.stdout.join('').replace(/\s+/g, ' ');
    expect(text).toContain('--backend auto|llhttp|uws|node');
    expect(text).toMatch(/llhttp: Node's own llhttp parser fed straight from each socket/);
    expect(text).toMatch(/uws: uWebSockets\.js v20 \(uws-pack\): fast, but its parser answers HTTP\/1\.0 and split request lines with 505/);
    expect(text).toContain('auto: the first of llhttp, node that loads here. (default: auto; env TSGI_BACKEND)');
    for (const flag of ['--limit-request-line BYTES', '--timeout-keep-alive SECONDS', '--timeout-head SECONDS', '--timeout-body SECONDS']) {
      expect(text).toContain(flag);
    }
    const version = run(['--version']);
    expect(await version.exited).toBe(0);
    expect(version.stdout.join('')).toMatch(/^tsgi \d+\.\d+\.\d+\n$/);
  });

  it('exits 2 with one line naming a module that does not exist', async () => {
    const result = run(['missing.mjs:app']);
    expect(await result.exited).toBe(2);
    const lines = result.stderr.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('missing.mjs');
  });

  it('exits 2 naming the module and export when the export is missing or not a function', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const file = path.join(dir, 'bad.mjs');
    writeFileSync(file, 'export const app = 42;\nexport const other = () => {};\n');
    const notFunction = run([`${file}:app`]);
    expect(await notFunction.exited).toBe(2);
    expect(notFunction.stderr.join('')).toMatch(/bad\.mjs:app is number, not an app: a function \(environ, startResponse\), an event app, a Node listener \(req, res\), an object with a fetch\(request\) method, or a Koa app/);
    const missing = run([`${file}:nothere`]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr.join('')).toMatch(/bad\.mjs has no export named nothere/);
  });

  it('exits 2 with the error when the module throws while loading', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const file = path.join(dir, 'throws.mjs');
    writeFileSync(file, "throw new Error('boom at import');\n");
    const result = run([file]);
    expect(await result.exited).toBe(2);
    expect(result.stderr.join('').trim().split('\n')).toHaveLength(1);
    expect(result.stderr.join('')).toContain('boom at import');
  });

  it('refuses unknown options and bad values with exit 2', async () => {
    for (const args of [['--bogus', 'examples/hello.mjs'], ['--backend', 'fast', 'examples/hello.mjs'], ['--max-body-size', 'lots', 'examples/hello.mjs'], []]) {
      const result = run(args);
      expect(await result.exited).toBe(2);
      expect(result.stderr.join('')).toMatch(/^tsgi: /);
    }
  });

  it('serves an event app with --interface event (examples/chat.mjs) and says so', async () => {
    const server = await start(['--interface', 'event', 'examples/chat.mjs']);
    expect(server.stderr.join('')).toContain('event interface');
    const page = parseResponses((await rawRequest(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')).text);
    expect(page[0]?.status).toBe(200);
    expect(page[0]?.body).toContain('<title>tsgi chat</title>');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('explains how to run a .ts app where Node cannot strip types', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const file = path.join(dir, 'app.ts');
    writeFileSync(file, "export const app = (e: unknown, sr: (s: string, h: [string, string][]) => void) => { sr('200 OK', []); return ['ts']; };\n");
    const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
    const result = run([`${file}:app`, '--bind', '127.0.0.1:0']);
    if (major < 22 || (major === 22 && minor < 6)) {
      expect(await result.exited).toBe(2);
      expect(result.stderr.join('')).toContain('cannot run TypeScript');
    } else {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      result.child.kill('SIGTERM');
      expect(result.stderr.join('')).toMatch(/listening on|strip/);
    }
  });

  it('loads a CommonJS module and a default export', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const cjs = path.join(dir, 'app.cjs');
    writeFileSync(cjs, "module.exports.app = (e, sr) => { sr('200 OK', []); return ['from cjs']; };\n");
    const server = await start([cjs]);
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('from cjs');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);

    const esmDefault = path.join(dir, 'default.mjs');
    writeFileSync(esmDefault, "export default (e, sr) => { sr('200 OK', []); return ['from default']; };\n");
    const second = await start([esmDefault]);
    expect(await (await fetch(`http://127.0.0.1:${second.port}/`)).text()).toBe('from default');
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('honours PORT when --bind is not given', async () => {
    // Find a free port by letting the OS pick one, then hand it to the child through PORT.
    const probe = await start(['examples/hello.mjs']);
    const port = probe.port;
    probe.child.kill('SIGTERM');
    await probe.exited;
    const result = run(['examples/hello.mjs'], { PORT: String(port) });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(result.stderr.join(''))), 10_000);
      result.child.stderr!.on('data', () => {
        if (result.stderr.join('').includes(`127.0.0.1:${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('Hello, world!');
    result.child.kill('SIGTERM');
    expect(await result.exited).toBe(0);
  });

  it('writes an access log line per request only with --access-log', async () => {
    const withLog = await start(['--access-log', 'examples/hello.mjs']);
    await (await fetch(`http://127.0.0.1:${withLog.port}/path?x=1`)).text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(withLog.stdout.join('')).toMatch(
      /^127\.0\.0\.1 - - \[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "GET \/path\?x=1 HTTP\/1\.1" 200 13\n$/,
    );
    withLog.child.kill('SIGTERM');
    await withLog.exited;

    const without = await start(['examples/hello.mjs']);
    await (await fetch(`http://127.0.0.1:${without.port}/`)).text();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(without.stdout.join('')).toBe('');
    without.child.kill('SIGTERM');
    await without.exited;
  });

  it('finishes an in-flight request on SIGTERM, then exits 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const file = path.join(dir, 'slow.mjs');
    writeFileSync(
      file,
      "export async function app(e, sr) { await new Promise((r) => setTimeout(r, 400)); sr('200 OK', []); return ['done slowly']; }\n",
    );
    const server = await start([file]);
    const pending = fetch(`http://127.0.0.1:${server.port}/`).then((response) => response.text());
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.child.kill('SIGTERM');
    expect(await pending).toBe('done slowly');
    expect(await server.exited).toBe(0);
    expect(server.stderr.join('')).toContain('SIGTERM');
  });

  it('keeps serving when an app throws outside any request', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-cli-'));
    const file = path.join(dir, 'stray.mjs');
    writeFileSync(
      file,
      "export function app(e, sr) { setTimeout(() => { throw new Error('stray timer'); }, 0); Promise.reject(new Error('stray promise')); sr('200 OK', []); return ['ok']; }\n",
    );
    const server = await start([file]);
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('ok');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('ok');
    expect(server.stderr.join('')).toContain('stray timer');
    expect(server.stderr.join('')).toContain('stray promise');
    expect(server.child.exitCode).toBeNull();
    server.child.kill('SIGTERM');
    await server.exited;
  });
});

describeBackends('examples served by the CLI on %s', (backend) => {
  it('hello answers Hello, world!', async () => {
    const server = await start(['--backend', backend, 'examples/hello.mjs:app']);
    expect(server.stderr.join('')).toContain(`with backend ${backend}`);
    const response = await fetch(`http://127.0.0.1:${server.port}/`);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await response.text()).toBe('Hello, world!');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('echo returns the posted body and its type', async () => {
    const server = await start(['--backend', backend, 'examples/echo.mjs']);
    const response = await fetch(`http://127.0.0.1:${server.port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-echo-method')).toBe('POST');
    expect(await response.json()).toEqual({ hello: 'world' });
    server.child.kill('SIGTERM');
    await server.exited;
  });

  it('streaming counts an upload and streams lines back chunked', async () => {
    const server = await start(['--backend', backend, 'examples/streaming.mjs']);
    const upload = 'x'.repeat(300_000);
    const result = await rawRequest(
      server.port,
      `POST /?lines=3 HTTP/1.1\r\nHost: x\r\nContent-Length: ${upload.length}\r\nConnection: close\r\n\r\n${upload}`,
      5000,
    );
    const [response] = parseResponses(result.text);
    expect(response!.header('transfer-encoding')).toEqual(['chunked']);
    expect(response!.body).toBe('received 300000 bytes\nline 1\nline 2\nline 3\n');
    server.child.kill('SIGTERM');
    await server.exited;
  });
});
