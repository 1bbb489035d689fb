/**
 * deploy/ (the deployment kit) against the real tools: nginx accepts deploy/nginx.conf, systemd
 * accepts the units, and a rolling restart of two tsgi instances behind a real nginx loses no
 * request. The instances are the real CLI (`node dist/cli/main.js`, so `npm run build` first),
 * restarted one after the other with SIGTERM while several clients hammer nginx; every request
 * must be answered 200, once with a stock `proxy_pass` (HTTP/1.0 upstream, a connection per
 * request) and once with deploy/nginx.conf itself (HTTP/1.1 upstream keep-alive).
 * .ci/run installs nginx (Debian's nginx-light); without it those suites are reported as skipped,
 * and so is the systemd check without systemd-analyze.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, root } from './cli-process.js';

function findNginx(): string | null {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    if (spawnSync(candidate, ['-v']).status === 0) return candidate;
  }
  const which = spawnSync('which', ['nginx'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

function findSystemdAnalyze(): string | null {
  const which = spawnSync('which', ['systemd-analyze'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : null;
}

const NGINX = findNginx();
const SYSTEMD_ANALYZE = findSystemdAnalyze();
const DEPLOY = path.join(root, 'deploy');
const APP = 'examples/hello.mjs';
const HELLO = 'Hello, world!';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Polls `condition` every 25 ms until it holds; past `timeoutMs` fails with `what` and `detail()`. */
async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, detail: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}\n${detail()}`);
    await sleep(25);
  }
}

/**
 * One GET /probe on a connection of its own (none of the keep-alive pool's), straight to a port.
 * (The client behind nginx asks for /, so the access logs tell the two apart.)
 */
async function answersDirectly(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/probe`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(5_000) });
    return response.status === 200 && (await response.text()) === HELLO;
  } catch {
    return false;
  }
}

// --- tsgi instances --------------------------------------------------------------------------

/** One `tsgi --bind 127.0.0.1:PORT --access-log examples/hello.mjs` process. */
interface Instance {
  child: ChildProcess;
  /** Access-log lines so far: one per response. */
  responses(): number;
  log(): string;
  exited: Promise<number | null>;
}

const processes: ChildProcess[] = [];

function startInstance(port: number): Instance {
  const child = spawn(process.execPath, [cli, '--bind', `127.0.0.1:${port}`, '--access-log', APP], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  processes.push(child);
  let lines = 0;
  let stdoutTail = '';
  const stderr: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    for (const byte of chunk) if (byte === 10) lines++;
    stdoutTail = (stdoutTail + chunk.toString()).slice(-2000);
  });
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    responses: () => lines,
    log: () => `stderr:\n${stderr.join('')}\nlast access-log lines:\n${stdoutTail}`,
    exited,
  };
}

// --- nginx -----------------------------------------------------------------------------------

interface Nginx {
  url: string;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<void>;
}

/**
 * A main nginx.conf around `site` (the contents of an http {} block): everything nginx writes
 * goes to `dir`. The access log records what nginx saw of each request, for the report: its
 * status, and every upstream it tried ("a:1, b:2" when it retried on the second).
 */
function mainConfig(dir: string, site: string): string {
  return `${process.getuid?.() === 0 ? 'user root;\n' : ''}master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  log_format upstreams '$status "$upstream_addr" "$upstream_status"';
  access_log ${dir}/access.log upstreams;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${site}
}
`;
}

/** Runs `nginx -p DIR -c nginx.conf -g 'daemon off;'` as a child (one process, no master). */
async function startNginx(site: string, port: number): Promise<Nginx> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-deploy-'));
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, mainConfig(dir, site));
  const child = spawn(NGINX!, ['-p', dir, '-c', conf, '-e', `${dir}/error.log`, '-g', 'daemon off;'], { stdio: 'ignore' });
  processes.push(child);
  const read = (file: string): string => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch {
      return `(no ${file})`;
    }
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitUntil(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${read('error.log')}`);
      return new Promise<boolean>((resolve) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => {
          socket.destroy();
          resolve(false);
        });
      });
    },
    `nginx listens on ${port}`,
    () => read('error.log'),
    20_000,
  );
  return {
    url: `http://127.0.0.1:${port}`,
    errorLog: () => read('error.log'),
    accessLog: () => read('access.log'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      await exited;
    },
  };
}

/** A stock reverse proxy: no proxy_http_version, so HTTP/1.0 and a connection per request upstream. */
function stockSite(ports: readonly number[], port: number): string {
  return `
  upstream tsgi {
${ports.map((upstream) => `    server 127.0.0.1:${upstream};`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://tsgi;
      proxy_next_upstream error timeout http_502 http_503;
    }
  }
`;
}

/** Replaces `from` in `text` by `to`, requiring that it occurs exactly `count` times. */
function rewrite(text: string, from: string | RegExp, to: string, count = 1): string {
  const pattern = typeof from === 'string' ? new RegExp(from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g') : new RegExp(from.source, 'gm');
  const found = text.match(pattern)?.length ?? 0;
  if (found !== count) throw new Error(`expected ${count} × ${from} in the deploy/ file, found ${found}: this test's rewriting needs updating`);
  return text.replace(pattern, to);
}

/** deploy/nginx.conf as shipped, with its listen port and its two upstream ports replaced. */
function deploySite(ports: readonly number[], port: number): string {
  let site = readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8');
  site = rewrite(site, /^\s*listen 80;$/, `    listen 127.0.0.1:${port};`);
  site = rewrite(site, '127.0.0.1:8001', `127.0.0.1:${ports[0]}`);
  site = rewrite(site, '127.0.0.1:8002', `127.0.0.1:${ports[1]}`);
  return site;
}

// --- the client ------------------------------------------------------------------------------

interface Load {
  /** Responses that were 200 with the app's body. */
  ok: number;
  /** Everything else: a status, a wrong body or a fetch error; the first 20 kept as samples. */
  failed: number;
  samples: string[];
  stop(): Promise<void>;
}

/**
 * Clients asking nginx for / back to back until stopped: `keptAlive` loops on the keep-alive pool
 * of fetch, `fresh` loops with a new connection per request. Bounded by `maxMs` whatever happens.
 */
function hammer(url: string, keptAlive: number, fresh: number, maxMs = 170_000): Load {
  const deadline = Date.now() + maxMs;
  let running = true;
  const load: Load = {
    ok: 0,
    failed: 0,
    samples: [],
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
  const fail = (what: string): void => {
    load.failed++;
    if (load.samples.length < 20) load.samples.push(`${new Date().toISOString()} ${what}`);
  };
  const loop = async (close: boolean): Promise<void> => {
    while (running && Date.now() < deadline) {
      try {
        const response = await fetch(`${url}/`, {
          headers: close ? { connection: 'close' } : {},
          signal: AbortSignal.timeout(30_000),
        });
        const body = await response.text();
        if (response.status === 200 && body === HELLO) load.ok++;
        else fail(`status ${response.status}: ${JSON.stringify(body.slice(0, 200))}`);
      } catch (error) {
        const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
        fail(`fetch failed: ${String(error)}${cause ? ` (cause: ${cause.code ?? ''} ${cause.message ?? ''})` : ''}`);
      }
    }
  };
  const loops = [...Array.from({ length: keptAlive }, () => loop(false)), ...Array.from({ length: fresh }, () => loop(true))];
  return load;
}

// --- the rolling restart ---------------------------------------------------------------------

interface Restart {
  port: number;
  exitCode: number | null;
  /** Responses the instance's access log shows: of the process stopped, of the one started. */
  servedBefore: number;
  servedAfter: number;
  /** From SIGTERM to exit, and from SIGTERM until nginx sends the new process requests again. */
  stopMs: number;
  backMs: number;
}

interface Outcome {
  restarts: Restart[];
  ok: number;
  failed: number;
  samples: string[];
  /** Requests answered between the first SIGTERM and the second instance serving again. */
  duringRestarts: number;
  /** The protocol of the requests tsgi saw from nginx ("HTTP/1.0", "HTTP/1.1"). */
  protocols: string[];
  /** From nginx's access log: its statuses, and how many requests it tried on a second upstream. */
  nginxStatuses: Record<string, number>;
  retried: number;
  /** nginx's error-log lines, by message (the upstream errors it retried). */
  nginxErrors: Record<string, number>;
}

let nginx: Nginx | null = null;
let load: Load | null = null;

/**
 * Two instances behind nginx (`site` makes the http {} contents from their ports and nginx's), a
 * client hammering nginx; each instance in turn gets SIGTERM, must exit 0, is started again on
 * the same port, must answer directly, and then must be serving through nginx again before the
 * other one is stopped (nginx leaves a server that failed alone for its fail_timeout: stopping
 * the second one earlier would leave nginx no live upstream). Returns what it measured.
 */
async function rollingRestart(site: (ports: readonly number[], port: number) => string): Promise<Outcome> {
  const ports = [await freePort(), await freePort()];
  const instances = ports.map((port) => startInstance(port));
  for (const [i, port] of ports.entries()) {
    await waitUntil(() => answersDirectly(port), `tsgi answers on ${port}`, () => instances[i]!.log(), 30_000);
  }
  const port = await freePort();
  nginx = await startNginx(site(ports, port), port);
  const proxy = nginx;
  load = hammer(proxy.url, 4, 2);
  const running = load;
  const detail = (): string => `client: ${running.ok} ok, ${running.failed} failed ${running.samples.join('\n')}\nnginx:\n${proxy.errorLog()}\n${instances.map((instance) => instance.log()).join('\n')}`;
  // Both instances serve through nginx before anything is restarted.
  for (const [i, instance] of instances.entries()) {
    await waitUntil(() => instance.responses() >= 20, `instance ${i + 1} serves through nginx`, detail);
  }

  const answeredBefore = running.ok + running.failed;
  const restarts: Restart[] = [];
  const protocols = new Set<string>();
  for (const [i, port] of ports.entries()) {
    const old = instances[i]!;
    const servedBefore = old.responses();
    const stopping = Date.now();
    old.child.kill('SIGTERM');
    const exitCode = await Promise.race([old.exited, sleep(60_000).then(() => 'still running' as const)]);
    if (exitCode === 'still running') throw new Error(`instance ${i + 1} did not exit within 60 s of SIGTERM\n${old.log()}`);
    const stopMs = Date.now() - stopping;
    const fresh = startInstance(port);
    instances[i] = fresh;
    await waitUntil(() => answersDirectly(port), `the new instance ${i + 1} answers on ${port}`, () => fresh.log(), 30_000);
    const probes = fresh.responses();
    await waitUntil(() => fresh.responses() >= probes + 20, `nginx sends the new instance ${i + 1} requests again`, detail);
    restarts.push({ port, exitCode, servedBefore, servedAfter: fresh.responses(), stopMs, backMs: Date.now() - stopping });
  }
  const duringRestarts = running.ok + running.failed - answeredBefore;
  await running.stop();
  await proxy.stop();
  for (const instance of instances) {
    for (const match of instance.log().matchAll(/"GET \/ (HTTP\/1\.[01])"/g)) protocols.add(match[1]!);
  }

  const nginxStatuses: Record<string, number> = {};
  let retried = 0;
  for (const line of proxy.accessLog().split('\n')) {
    const match = /^(\d+) "([^"]*)"/.exec(line);
    if (match === null) continue;
    nginxStatuses[match[1]!] = (nginxStatuses[match[1]!] ?? 0) + 1;
    if (match[2]!.includes(',')) retried++;
  }
  const nginxErrors: Record<string, number> = {};
  for (const line of proxy.errorLog().split('\n')) {
    // "2026/12/02 12:00:00 [error] 123#0: *45 connect() failed (111: Connection refused) while connecting to upstream, client: …"
    const match = /\[(\w+)\] \d+#\d+: (?:\*\d+ )?(.*?)(?:, client:|$)/.exec(line);
    if (match === null) continue;
    const message = `[${match[1]}] ${match[2]!.replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR')}`;
    nginxErrors[message] = (nginxErrors[message] ?? 0) + 1;
  }
  return {
    restarts,
    ok: running.ok,
    failed: running.failed,
    samples: running.samples,
    duringRestarts,
    protocols: [...protocols].sort(),
    nginxStatuses,
    retried,
    nginxErrors,
  };
}

function report(variant: string, outcome: Outcome): void {
  const restarts = outcome.restarts.map(
    (r, i) => `instance ${i + 1}: exit ${r.exitCode} ${r.stopMs} ms after SIGTERM, serving through nginx again after ${r.backMs} ms (${r.servedBefore} + ${r.servedAfter} responses)`,
  );
  console.log(
    [
      `${variant}: ${outcome.ok} requests ok, ${outcome.failed} failed, ${outcome.duringRestarts} during the restarts; ${outcome.retried} retried by nginx`,
      ...restarts,
      `nginx statuses ${JSON.stringify(outcome.nginxStatuses)}; upstream protocol ${outcome.protocols.join(', ')}`,
      `nginx error log: ${JSON.stringify(outcome.nginxErrors, null, 1)}`,
    ].join('\n  '),
  );
}

afterEach(async () => {
  await load?.stop();
  load = null;
  await nginx?.stop();
  nginx = null;
  for (const child of processes.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }
  }
});

function expectNoFailedRequest(outcome: Outcome): void {
  expect(outcome.samples).toEqual([]);
  expect(outcome.failed).toBe(0);
  expect(outcome.restarts.map((restart) => restart.exitCode)).toEqual([0, 0]);
  expect(outcome.duringRestarts).toBeGreaterThan(100);
  expect(Object.keys(outcome.nginxStatuses)).toEqual(['200']);
}

if (NGINX === null) {
  describe('deploy/ behind nginx', () => {
    it.skip('skipped: nginx is not installed (apt-get install nginx-light; .ci/run installs it)', () => {});
  });
} else {
  describe('deploy/ behind nginx', () => {
    it('nginx -t accepts deploy/nginx.conf as shipped, included in a minimal main config', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-deploy-t-'));
      const conf = path.join(dir, 'nginx.conf');
      writeFileSync(conf, mainConfig(dir, `  include ${path.join(DEPLOY, 'nginx.conf')};`));
      const result = spawnSync(NGINX, ['-t', '-p', dir, '-c', conf, '-e', `${dir}/error.log`], { encoding: 'utf8' });
      expect(result.stderr).toContain('test is successful');
      expect(result.status).toBe(0);
    });

    it(
      'rolling restart behind a stock proxy_pass (HTTP/1.0 upstream): every request answered 200',
      { timeout: 240_000 },
      async () => {
        const outcome = await rollingRestart(stockSite);
        report('stock proxy_pass', outcome);
        expect(outcome.protocols).toEqual(['HTTP/1.0']);
        expectNoFailedRequest(outcome);
      },
    );

    it(
      'rolling restart behind deploy/nginx.conf (HTTP/1.1 upstream keep-alive): every request answered 200',
      { timeout: 240_000 },
      async () => {
        const site = readFileSync(path.join(DEPLOY, 'nginx.conf'), 'utf8');
        // What this variant is about, as the shipped file says it.
        expect(site).toMatch(/^\s*proxy_http_version 1\.1;$/m);
        expect(site).toMatch(/^\s*keepalive 32;$/m);
        expect(site).toMatch(/^\s*proxy_next_upstream error timeout http_502 http_503;$/m);
        expect(site).toMatch(/^\s*proxy_set_header Connection \$connection_upgrade;$/m);
        const outcome = await rollingRestart(deploySite);
        report('deploy/nginx.conf', outcome);
        expect(outcome.protocols).toEqual(['HTTP/1.1']);
        expectNoFailedRequest(outcome);
      },
    );
  });
}

if (SYSTEMD_ANALYZE === null) {
  describe('deploy/ systemd units', () => {
    it.skip('skipped: systemd-analyze is not installed (it comes with systemd)', () => {});
  });
} else {
  describe('deploy/ systemd units', () => {
    it('systemd-analyze verify accepts deploy/tsgi.socket and deploy/tsgi.service', () => {
      // verify checks that ExecStart's program exists: point it at this checkout's CLI.
      const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-units-'));
      copyFileSync(path.join(DEPLOY, 'tsgi.socket'), path.join(dir, 'tsgi.socket'));
      const service = rewrite(readFileSync(path.join(DEPLOY, 'tsgi.service'), 'utf8'), '/srv/tsgi/node_modules/.bin/tsgi', `${process.execPath} ${cli}`);
      writeFileSync(path.join(dir, 'tsgi.service'), service);
      expect(existsSync(cli)).toBe(true);
      const result = spawnSync(SYSTEMD_ANALYZE, ['verify', path.join(dir, 'tsgi.socket'), path.join(dir, 'tsgi.service')], { cwd: dir, encoding: 'utf8' });
      // verify exits 0 on a directive it ignores, so its complaints about these files are what counts.
      const complaints = `${result.stdout}${result.stderr}`.split('\n').filter((line) => line.includes('tsgi.'));
      expect(complaints).toEqual([]);
      expect(result.status).toBe(0);
    });
  });
}
