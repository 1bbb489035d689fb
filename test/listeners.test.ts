/**
 * Where a server listens: several --bind addresses at once, unix sockets (--uds, unix:PATH), and
 * sockets inherited from a process manager (--fd, systemd's LISTEN_FDS), in one process and
 * under the supervisor. Real sockets and real processes throughout.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, existsSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Environ, EventApp, GatewayApp, HttpScope } from '../src/index.js';
import { cli, killChildren, root, run } from './cli-process.js';
import { spreadOverWorkers } from './supervisor-process.js';
import { describeBackends, startServer, type TestServer } from './helpers.js';

const whereAmI: GatewayApp = (environ: Environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return [`${environ.SERVER_NAME as string}|${environ.SERVER_PORT as string}|${environ['tsgi.url_scheme'] as string}`];
};

function socketDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'tsgi-uds-'));
}

/** GET over a unix socket. */
function getUnix(socketPath: string, target = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get({ socketPath, path: target, agent: false, headers: { Host: 'local', Connection: 'close' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

/** A unix socket file whose server was killed: it stays behind, and nothing answers on it. */
async function staleSocket(socketPath: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', script]);
  expect(statSync(socketPath).isSocket()).toBe(true);
}

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  killChildren();
});

describeBackends('listeners on %s', (backend) => {
  it('listens on every --bind address at once; SERVER_PORT names the first', async () => {
    server = await startServer(whereAmI, backend, { bind: ['127.0.0.1:0', '127.0.0.1:0'] });
    const [first, second] = server.server.listeners;
    expect(first).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    expect(second).toMatchObject({ kind: 'tcp', host: '127.0.0.1' });
    const ports = server.server.listeners.map((target) => (target.kind === 'tcp' ? target.port : 0));
    expect(ports[0]).not.toBe(ports[1]);
    for (const port of ports) {
      const response = await fetch(`http://127.0.0.1:${port}/`);
      expect(await response.text()).toBe(`127.0.0.1|${ports[0]}|http`);
    }
  });

  it('serves a unix socket (--uds) with the mode asked for; SERVER_NAME is its path, SERVER_PORT empty', async () => {
    const socketPath = path.join(socketDir(), 'app.sock');
    server = await startServer(whereAmI, backend, { uds: socketPath, udsMode: '600' });
    expect(server.server.listeners).toEqual([{ kind: 'unix', path: socketPath }]);
    expect(statSync(socketPath).mode & 0o777).toBe(0o600);
    expect(await getUnix(socketPath)).toEqual({ status: 200, body: `${socketPath}||http` });
  });

  it('gives an event app [path, null] as the scope server on a unix socket', async () => {
    const socketPath = path.join(socketDir(), 'event.sock');
    const app: EventApp = async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [] });
      await send({ type: 'http.response.body', body: new TextEncoder().encode(JSON.stringify((scope as HttpScope).server)) });
    };
    server = await startServer(app, backend, { bind: [`unix:${socketPath}`], interface: 'event' });
    expect(JSON.parse((await getUnix(socketPath)).body)).toEqual([socketPath, null]);
  });

  it('replaces a socket file a killed server left behind', async () => {
    const socketPath = path.join(socketDir(), 'stale.sock');
    await staleSocket(socketPath);
    server = await startServer(whereAmI, backend, { uds: socketPath });
    expect((await getUnix(socketPath)).status).toBe(200);
  });

  it('refuses to take over a socket a live server answers on, and that server goes on serving', async () => {
    const socketPath = path.join(socketDir(), 'live.sock');
    const holder = http.createServer((_req, res) => res.end('holder'));
    await new Promise<void>((resolve) => holder.listen(socketPath, resolve));
    try {
      await expect(startServer(whereAmI, backend, { uds: socketPath })).rejects.toThrow(
        `cannot listen on unix:${socketPath}: another server is listening on it`,
      );
      expect((await getUnix(socketPath)).body).toBe('holder');
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('refuses a path that is not a socket, and leaves the file alone', async () => {
    const filePath = path.join(socketDir(), 'data.txt');
    writeFileSync(filePath, 'keep me');
    await expect(startServer(whereAmI, backend, { uds: filePath })).rejects.toThrow('the path exists and is not a socket');
    expect(existsSync(filePath)).toBe(true);
  });
});

/** Runs `python3 socket-activate.py [--plain] node cli args…`; resolves the port it bound and the process. */
function activated(args: string[], plain: boolean) {
  const script = path.join(root, 'test', 'fixtures', 'socket-activate.py');
  const child = spawn('python3', [script, ...(plain ? ['--plain'] : []), process.execPath, cli, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(stderr);
      if (match !== null) return match;
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no line matching ${pattern}; stderr:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, exited, waitFor, stderr: () => stderr };
}

describe('inherited sockets (python3 hands over a bound socket on fd 3, as systemd does)', () => {
  afterEach(() => {
    for (const child of started.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  });
  const started: import('node:child_process').ChildProcess[] = [];

  it.each([
    ['llhttp', false],
    ['node', false],
    ['llhttp', true],
    ['node', true],
  ] as const)('%s serves the socket systemd passes (LISTEN_FDS) or --fd names (plain: %s)', async (backend, plain) => {
    const args = ['--backend', backend, ...(plain ? ['--fd', '3'] : []), 'examples/hello.mjs'];
    const proc = activated(args, plain);
    started.push(proc.child);
    const port = Number((await proc.waitFor(/activated (\d+)/))[1]);
    await proc.waitFor(/listening on fd:\/\/3 \(http:\/\/127\.0\.0\.1:\d+\)/);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('Hello, world!');
  });

  it('two supervised workers share the socket systemd passes', async () => {
    const proc = activated(['--workers', '2', 'test/fixtures/worker-app.mjs'], false);
    started.push(proc.child);
    const port = Number((await proc.waitFor(/activated (\d+)/))[1]);
    await proc.waitFor(/ready: 2 workers/);
    const { pids } = await spreadOverWorkers(async () => (await fetch(`http://127.0.0.1:${port}/busy/100`, { headers: { Connection: 'close' } })).text());
    expect(pids.size).toBe(2);
  });

  it('uws cannot take an inherited socket: exit 1 naming the backends that can', async () => {
    const proc = activated(['--backend', 'uws', 'examples/hello.mjs'], false);
    started.push(proc.child);
    const code = await proc.exited;
    if (/uWebSockets.js did not load/.test(proc.stderr())) return expect(code).toBe(1);
    expect(code).toBe(1);
    expect(proc.stderr()).toContain('uWebSockets.js cannot listen on an inherited socket (fd://3); use --backend llhttp or --backend node');
  });
});

describe('unix sockets under the supervisor', () => {
  it('two workers serve one unix socket; the file goes when the supervisor stops', async () => {
    const socketPath = path.join(socketDir(), 'workers.sock');
    const proc = run(['--workers', '2', '--uds', socketPath, 'test/fixtures/worker-app.mjs']);
    const deadline = Date.now() + 15_000;
    while (!/ready: 2 workers/.test(proc.stderr.join('')) && Date.now() < deadline && proc.child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(proc.stderr.join('')).toMatch(new RegExp(`ready: 2 workers \\([\\d, ]+\\) on unix:${socketPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const { pids } = await spreadOverWorkers(async () => (await getUnix(socketPath, '/busy/100')).body);
    expect(pids.size).toBe(2);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(existsSync(socketPath)).toBe(false);
  });
});

describe('bind errors', () => {
  it('names the address and the cause when a port is taken', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const result = run(['--bind', '127.0.0.1:0', '--bind', `127.0.0.1:${port}`, 'examples/hello.mjs']);
      expect(await result.exited).toBe(1);
      expect(result.stderr.join('')).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE: another process listens there`);
    } finally {
      holder.close();
    }
  });
});
