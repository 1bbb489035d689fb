/**
 * Workers and the supervisor (README "Workers and signals"): real processes, real signals, a
 * real client hammering throughout. The worker app answers with the pid of the process that
 * served it, so a test can see which worker answered.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run as runCli, killChildren, root, start } from './cli-process.js';
import { delay, describeBackends, eventually, traitsOf } from './helpers.js';
import { childrenOf, freshGet, hammer, startSupervised } from './supervisor-process.js';
import { nodeHasReusePort } from '../src/acceptors/listen.js';
import { serve } from '../src/index.js';
// run() forks workers from the compiled worker entry, so it is exercised as users get it: from dist.
import { run } from '../dist/index.js';

const WORKER_APP = 'test/fixtures/worker-app.mjs';

afterEach(() => killChildren());

async function exitCode(exited: Promise<number | null>, timeoutMs = 20_000): Promise<number | null | 'running'> {
  return Promise.race([exited, delay(timeoutMs).then(() => 'running' as const)]);
}

describeBackends('workers on %s', (backend) => {
  it('serves from two workers, each naming its pid in its start-up line', async () => {
    const supervised = await startSupervised(['--backend', backend, '--workers', '2', WORKER_APP]);
    expect(supervised.firstPids).toHaveLength(2);
    for (const pid of supervised.firstPids) {
      expect(supervised.log()).toContain(`[tsgi:${pid}] [info] listening on http://127.0.0.1:${supervised.port} with backend ${backend}`);
    }
    expect(supervised.workerPids().sort()).toEqual([...supervised.firstPids].sort());
    // Requests that block their worker for a moment make the other one accept the next connections.
    const answered = new Set<number>();
    for (let round = 0; round < 5 && answered.size < 2; round++) {
      const bodies = await Promise.all(Array.from({ length: 6 }, () => freshGet(supervised.port, '/busy/100')));
      for (const { status, body } of bodies) {
        expect(status).toBe(200);
        answered.add(Number(body));
      }
    }
    expect([...answered].sort()).toEqual([...supervised.firstPids].sort());
    supervised.child.kill('SIGTERM');
    expect(await exitCode(supervised.exited)).toBe(0);
  }, 40_000);

  it('SIGHUP under load: every worker is replaced and no request fails', async () => {
    const supervised = await startSupervised(['--backend', backend, '--workers', '2', WORKER_APP]);
    const load = hammer(supervised.port, 6);
    await eventually(() => load.ok > 200, 10_000);
    const mark = supervised.log().length;
    supervised.child.kill('SIGHUP');
    await supervised.waitFor(/reloaded: workers ([\d, ]+) serve/, 20_000, mark);
    await supervised.waitFor(/stopped \(replaced by a reload.*\n(.|\n)*stopped \(replaced by a reload/, 20_000, mark);
    const okAtSwap = load.ok;
    await eventually(() => load.ok > okAtSwap + 200, 10_000);
    await load.stop();
    expect(load.errors).toEqual([]);
    expect(load.failed).toBe(0);
    const now = supervised.workerPids();
    expect(now).toHaveLength(2);
    for (const pid of supervised.firstPids) expect(now).not.toContain(pid);
    // The last answers came from the new workers only.
    for (const pid of load.pids.slice(-50)) expect(now).toContain(pid);
    supervised.child.kill('SIGTERM');
    expect(await exitCode(supervised.exited)).toBe(0);
  }, 60_000);

  it('a worker killed with SIGKILL under load is replaced and the service goes on', async () => {
    const supervised = await startSupervised(['--backend', backend, '--workers', '2', WORKER_APP]);
    const load = hammer(supervised.port, 4);
    await eventually(() => load.ok > 100, 10_000);
    const victim = supervised.firstPids[0]!;
    const mark = supervised.log().length;
    process.kill(victim, 'SIGKILL');
    await supervised.waitFor(new RegExp(`worker ${victim} exited unexpectedly \\(signal SIGKILL\\); starting a replacement`), 10_000, mark);
    await supervised.waitFor(/worker \d+ serving with backend/, 10_000, mark);
    const okAfter = load.ok;
    await eventually(() => load.ok > okAfter + 200, 10_000);
    await load.stop();
    // Requests on the killed worker's connections may fail; everything after keeps working.
    expect(load.ok).toBeGreaterThan(okAfter + 200);
    const now = supervised.workerPids();
    expect(now).toHaveLength(2);
    expect(now).not.toContain(victim);
    const { status } = await freshGet(supervised.port);
    expect(status).toBe(200);
  }, 60_000);

  it('--max-requests recycles workers under load without a failed request', async () => {
    const supervised = await startSupervised([
      '--backend',
      backend,
      '--workers',
      '2',
      '--max-requests',
      '150',
      '--max-requests-jitter',
      '50',
      WORKER_APP,
    ]);
    const load = hammer(supervised.port, 6);
    await supervised.waitFor(/served \d+ requests \(--max-requests\)(.|\n)*served \d+ requests \(--max-requests\)(.|\n)*served \d+ requests \(--max-requests\)/, 30_000);
    await supervised.waitFor(/(stopped \(recycled after --max-requests(.|\n)*){3}/, 30_000);
    await load.stop();
    expect(load.errors).toEqual([]);
    expect(load.failed).toBe(0);
    expect(new Set(load.pids).size).toBeGreaterThanOrEqual(4);
    // Each worker asked to be recycled at its budget: 150 plus a jitter of at most 50. (It serves
    // on until its replacement listens, so it may answer a few more in all.)
    const budgets = [...supervised.log().matchAll(/served (\d+) requests \(--max-requests\)/g)].map((match) => Number(match[1]));
    for (const budget of budgets) {
      expect(budget).toBeGreaterThanOrEqual(150);
      expect(budget).toBeLessThanOrEqual(200);
    }
    expect(new Set(budgets).size).toBeGreaterThan(1);
    // The recycled workers finish draining and exit; two remain.
    expect(await eventually(() => supervised.workerPids().length === 2, 15_000)).toBe(true);
  }, 60_000);

  it('--timeout kills a worker stuck in a busy loop, names its request, and another keeps answering', async () => {
    const supervised = await startSupervised(['--backend', backend, '--workers', '2', '--timeout', '2', WORKER_APP]);
    const stuck = fetch(`http://127.0.0.1:${supervised.port}/spin`, { signal: AbortSignal.timeout(20_000) }).catch((error: Error) => error);
    const started = Date.now();
    // Connections that arrive together may be accepted together, by the worker about to spin.
    await delay(300);
    // While one worker spins, the other answers fresh connections: all of them when the workers
    // share one accept queue; with SO_REUSEPORT (uws) the kernel may queue some on the stuck one,
    // and those are reset when it is killed.
    const during = await Promise.all(Array.from({ length: 12 }, () => freshGet(supervised.port).catch((error: Error) => error)));
    const answered = during.filter((result) => !(result instanceof Error));
    if (traitsOf(backend).sharedAcceptQueue) expect(answered).toHaveLength(12);
    else expect(answered.length).toBeGreaterThan(0);
    for (const result of answered) expect((result as { status: number }).status).toBe(200);
    const timedOut = await supervised.waitFor(/worker (\d+) timed out: it did not run its event loop for \d+ s while serving GET \/spin; killing it \(SIGKILL\) and starting a replacement/, 20_000);
    // The timeout (2 s) plus the heartbeat period and a generous margin for a busy machine.
    expect(Date.now() - started).toBeLessThan(12_000);
    const victim = Number(timedOut[1]);
    expect(supervised.firstPids).toContain(victim);
    expect(await stuck).toBeInstanceOf(Error);
    await eventually(() => supervised.workerPids().length === 2 && !supervised.workerPids().includes(victim), 10_000);
    expect(supervised.workerPids()).not.toContain(victim);
    expect((await freshGet(supervised.port)).status).toBe(200);
  }, 60_000);
});

describe('the supervisor', () => {
  it('workers that cannot boot stop it after a few tries, with the app\'s error and exit code 3', async () => {
    const started = runCli(['--bind', '127.0.0.1:0', '--workers', '2', 'test/fixtures/boot-fails.mjs']);
    expect(await exitCode(started.exited)).toBe(3);
    const log = started.stderr.join('');
    expect(log).toContain('the database URL is not set (boot-fails.mjs)');
    expect(log).toMatch(/workers failed to boot 3 times in a row; giving up/);
    // A few tries, not a respawn loop.
    expect(log.match(/\[tsgi\] \[error\] worker \d+ failed to boot/g)).toHaveLength(3);
  }, 30_000);

  it('a lifespan startup failure is a boot failure too', async () => {
    const started = runCli(['--bind', '127.0.0.1:0', '--workers', '2', '--interface', 'event', '--lifespan', 'on', 'test/fixtures/event-startup-fails.mjs']);
    expect(await exitCode(started.exited)).toBe(3);
    expect(started.stderr.join('')).toMatch(/failed to boot: .*startup/i);
  }, 30_000);

  it('SIGTTIN and SIGTTOU add and remove a worker', async () => {
    const supervised = await startSupervised(['--workers', '2', WORKER_APP]);
    supervised.child.kill('SIGTTIN');
    expect(await eventually(() => supervised.workerPids().length === 3, 10_000)).toBe(true);
    await supervised.waitFor(/SIGTTIN: 3 workers(.|\n)*worker \d+ serving/);
    // One signal at a time: the kernel folds a signal sent while the same one is pending.
    supervised.child.kill('SIGTTOU');
    await supervised.waitFor(/SIGTTOU: 2 workers/);
    supervised.child.kill('SIGTTOU');
    await supervised.waitFor(/SIGTTOU: 1 worker\b/);
    expect(await eventually(() => supervised.workerPids().length === 1, 10_000)).toBe(true);
    // Never below one.
    supervised.child.kill('SIGTTOU');
    await supervised.waitFor(/SIGTTOU: 1 worker\b(.|\n)*SIGTTOU: 1 worker\b/);
    expect(supervised.workerPids()).toHaveLength(1);
    expect((await freshGet(supervised.port)).status).toBe(200);
  }, 40_000);

  it('SIGTERM lets in-flight requests finish, runs each worker\'s lifespan shutdown, and exits 0', async () => {
    const supervised = await startSupervised(['--workers', '2', 'test/fixtures/lifespan-pid.mjs']);
    const stdout = (): string => supervised.stdout.join('');
    // Each worker ran its own lifespan startup.
    for (const pid of supervised.firstPids) expect(stdout()).toContain(`lifespan startup in ${pid}`);
    const answer = await freshGet(supervised.port);
    expect(supervised.firstPids.map((pid) => `started in ${pid}`)).toContain(answer.body);
    supervised.child.kill('SIGTERM');
    expect(await exitCode(supervised.exited)).toBe(0);
    for (const pid of supervised.firstPids) expect(stdout()).toContain(`lifespan shutdown in ${pid}`);
    expect(childrenOf(supervised.child.pid!)).toEqual([]);
  }, 30_000);

  it('SIGTERM waits for a slow request; a second SIGTERM stops at once', async () => {
    const supervised = await startSupervised(['--workers', '2', WORKER_APP]);
    const slow = freshGet(supervised.port, '/sleep/700');
    await delay(200);
    supervised.child.kill('SIGTERM');
    const answer = await slow;
    expect(answer.status).toBe(200);
    expect(await exitCode(supervised.exited)).toBe(0);

    const again = await startSupervised(['--workers', '2', WORKER_APP]);
    const stuck = fetch(`http://127.0.0.1:${again.port}/sleep/30000`, { signal: AbortSignal.timeout(20_000) }).catch((error: Error) => error);
    await delay(200);
    again.child.kill('SIGTERM');
    await again.waitFor(/SIGTERM: stopping/);
    again.child.kill('SIGTERM');
    expect(await exitCode(again.exited, 10_000)).toBe(1);
    expect(again.log()).toContain('SIGTERM again: stopping the workers at once');
    expect(await stuck).toBeInstanceOf(Error);
  }, 40_000);

  it('SIGQUIT stops at once without waiting for in-flight requests', async () => {
    const supervised = await startSupervised(['--workers', '2', WORKER_APP]);
    const stuck = fetch(`http://127.0.0.1:${supervised.port}/sleep/30000`, { signal: AbortSignal.timeout(20_000) }).catch((error: Error) => error);
    await delay(200);
    const before = Date.now();
    supervised.child.kill('SIGQUIT');
    expect(await exitCode(supervised.exited, 10_000)).toBe(0);
    expect(Date.now() - before).toBeLessThan(8000);
    expect(await stuck).toBeInstanceOf(Error);
  }, 30_000);

  it('--pid writes the supervisor\'s pid and removes the file at exit; config-file hooks run in the supervisor', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-pid-'));
    const pidFile = path.join(dir, 'tsgi.pid');
    const hookLog = path.join(dir, 'hooks.log');
    const config = path.join(dir, 'tsgi.config.mjs');
    writeFileSync(
      config,
      [
        "import { appendFileSync } from 'node:fs';",
        'export const workers = 2;',
        `const log = (line) => appendFileSync(${JSON.stringify(hookLog)}, line + '\\n');`,
        'export function onStarting(info) { log(`starting ${info.pid} ${info.settings.workers}`); }',
        "export function whenReady(info) { log(`ready ${info.pid} ${info.workers.length} ${info.port}`); }",
        'export function workerExit(info) { log(`exit ${info.worker} ${info.reason}`); }',
        'export function onExit(info) { log(`bye ${info.pid}`); }',
      ].join('\n'),
    );
    const supervised = await startSupervised(['--config', config, '--pid', pidFile, WORKER_APP]);
    const supervisorPid = supervised.child.pid!;
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(supervisorPid));
    expect(await eventually(() => existsSync(hookLog) && readFileSync(hookLog, 'utf8').includes('ready'), 5000)).toBe(true);
    supervised.child.kill('SIGTERM');
    expect(await exitCode(supervised.exited)).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
    const lines = readFileSync(hookLog, 'utf8').trim().split('\n');
    expect(lines[0]).toBe(`starting ${supervisorPid} 2`);
    expect(lines[1]).toBe(`ready ${supervisorPid} 2 ${supervised.port}`);
    expect(lines.filter((line) => line.startsWith('exit ')).sort()).toEqual(supervised.firstPids.map((pid) => `exit ${pid} stopped`).sort());
    expect(lines.at(-1)).toBe(`bye ${supervisorPid}`);
  }, 30_000);

  it('SIGHUP rereads the config file; a reload whose workers cannot boot keeps the old ones', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-hup-'));
    const app = path.join(dir, 'app.mjs');
    const config = path.join(dir, 'tsgi.config.mjs');
    writeFileSync(app, "export const app = (environ, start) => { start('200 OK', []); return [Buffer.from('v1')]; };\n");
    writeFileSync(config, 'export const workers = 2;\n');
    const supervised = await startSupervised(['--config', config, app]);
    expect((await freshGet(supervised.port)).body).toBe('v1');
    // New code and a third worker.
    writeFileSync(app, "export const app = (environ, start) => { start('200 OK', []); return [Buffer.from('v2')]; };\n");
    writeFileSync(config, 'export const workers = 3;\n');
    let mark = supervised.log().length;
    supervised.child.kill('SIGHUP');
    await supervised.waitFor(/reloaded: workers \d+, \d+, \d+ serve/, 20_000, mark);
    expect((await freshGet(supervised.port)).body).toBe('v2');
    expect(await eventually(() => supervised.workerPids().length === 3, 10_000)).toBe(true);
    // A broken edit: the reload fails and the old workers keep serving.
    writeFileSync(app, 'export const app = (environ, start) => { syntax error here\n');
    mark = supervised.log().length;
    supervised.child.kill('SIGHUP');
    await supervised.waitFor(/reload failed, the old workers keep serving: a new worker could not boot: .*SyntaxError/, 20_000, mark);
    expect((await freshGet(supervised.port)).body).toBe('v2');
    expect(await eventually(() => supervised.workerPids().length === 3, 10_000)).toBe(true);
    supervised.child.kill('SIGTERM');
    expect(await exitCode(supervised.exited)).toBe(0);
  }, 60_000);

  it('--reload picks up an edited file, survives a broken edit, and recovers when it is fixed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-reload-'));
    const app = path.join(dir, 'app.mjs');
    const answer = (text: string): string => `export const app = (environ, start) => { start('200 OK', []); return [Buffer.from('${text}')]; };\n`;
    writeFileSync(app, answer('v1'));
    const supervised = await startSupervised(['--reload', app]);
    expect(supervised.log()).toContain(`--reload: watching ${dir}`);
    expect((await freshGet(supervised.port)).body).toBe('v1');
    writeFileSync(app, answer('v2'));
    await supervised.waitFor(/app\.mjs changed; reloading(.|\n)*reloaded: workers/);
    expect((await freshGet(supervised.port)).body).toBe('v2');
    // Files outside the include globs, or in node_modules, change nothing.
    const mark = supervised.log().length;
    writeFileSync(path.join(dir, 'notes.txt'), 'hello');
    mkdirSync(path.join(dir, 'node_modules', 'dep'), { recursive: true });
    writeFileSync(path.join(dir, 'node_modules', 'dep', 'index.js'), 'export {};\n');
    await delay(600);
    expect(supervised.log().slice(mark)).not.toContain('reloading');
    writeFileSync(app, 'export const app = (environ, start) => { this is not javascript\n');
    await supervised.waitFor(/reload failed, the old workers keep serving/, 20_000, mark);
    expect((await freshGet(supervised.port)).body).toBe('v2');
    writeFileSync(app, answer('v3'));
    const fixedMark = supervised.log().length;
    await supervised.waitFor(/reloaded: workers/, 20_000, fixedMark);
    expect((await freshGet(supervised.port)).body).toBe('v3');
  }, 60_000);

  it('settings come from the config file, the environment and the flags, in that order of strength', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-layers-'));
    const config = path.join(dir, 'tsgi.config.mjs');
    writeFileSync(config, 'export default { workers: 4, maxRequests: 100, timeout: 9, reloadExclude: ["tmp"] };\n');
    const printed = runCli(['--config', config, '--print-config', '--timeout', '7'], { TSGI_WORKERS: '3', TSGI_MAX_REQUESTS_JITTER: '5', TSGI_TIMEOUT: '8' });
    expect(await exitCode(printed.exited)).toBe(0);
    const out = printed.stdout.join('');
    expect(out).toMatch(/^workers\s+3\s+TSGI_WORKERS$/m);
    expect(out).toMatch(/^maxRequests\s+100\s+maxRequests in tsgi\.config\.mjs$/m);
    expect(out).toMatch(/^maxRequestsJitter\s+5\s+TSGI_MAX_REQUESTS_JITTER$/m);
    expect(out).toMatch(/^timeout\s+7\s+--timeout$/m);
    expect(out).toMatch(/^reloadExclude\s+\["tmp"\]\s+reloadExclude in tsgi\.config\.mjs$/m);
    const auto = runCli(['--print-config', '--workers', 'auto']);
    expect(await exitCode(auto.exited)).toBe(0);
    const { availableParallelism } = await import('node:os');
    expect(auto.stdout.join('')).toMatch(new RegExp(`^workers\\s+${availableParallelism()}\\s+--workers$`, 'm'));
  }, 30_000);
});

describe('one process', () => {
  it('--pid without workers writes the server\'s own pid and removes the file at exit', async () => {
    const pidFile = path.join(mkdtempSync(path.join(tmpdir(), 'tsgi-pid1-')), 'tsgi.pid');
    const started = await start(['--pid', pidFile, WORKER_APP]);
    // The file is written once the server listens, before the "serving" line.
    expect(await eventually(() => started.stderr.join('').includes('[tsgi] [info] serving '), 10_000)).toBe(true);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(started.child.pid));
    expect((await freshGet(started.port)).body).toBe(String(started.child.pid));
    started.child.kill('SIGTERM');
    expect(await exitCode(started.exited)).toBe(0);
    expect(existsSync(pidFile)).toBe(false);
  }, 30_000);
});

describe('--reuse-port', () => {
  it.skipIf(!nodeHasReusePort())(
    'workers on llhttp listen on sockets of their own (needs Node >= 22.12), serve, and reload without a failed request',
    async () => {
      const supervised = await startSupervised(['--workers', '2', '--reuse-port', WORKER_APP]);
      const load = hammer(supervised.port, 6);
      await eventually(() => load.ok > 200, 10_000);
      expect(new Set(load.pids).size).toBe(2);
      const mark = supervised.log().length;
      supervised.child.kill('SIGHUP');
      await supervised.waitFor(/reloaded: workers/, 20_000, mark);
      const okAtSwap = load.ok;
      await eventually(() => load.ok > okAtSwap + 200, 10_000);
      await load.stop();
      expect(load.errors).toEqual([]);
      await supervised.waitFor(/stopped \(replaced by a reload.*\n(.|\n)*stopped \(replaced by a reload/, 20_000, mark);
      expect(await eventually(() => supervised.workerPids().length === 2, 10_000)).toBe(true);
      for (const pid of supervised.firstPids) expect(supervised.workerPids()).not.toContain(pid);
    },
    60_000,
  );

  it.skipIf(nodeHasReusePort())('on a Node without reusePort (before 22.12) it fails at start-up saying what it needs', async () => {
    const started = runCli(['--bind', '127.0.0.1:0', '--reuse-port', WORKER_APP]);
    expect(await exitCode(started.exited)).toBe(1);
    expect(started.stderr.join('')).toContain(`--reuse-port needs Node 22.12 or later (this is ${process.versions.node})`);
  }, 30_000);
});

describe('run() and serve()', () => {
  it('run() starts the supervisor from code; stop() drains and resolves with 0', async () => {
    const logged: string[] = [];
    const supervision = await run({ app: path.join(root, WORKER_APP), workers: 2, port: 0, logLevel: 'warning', errorSink: (text) => logged.push(text) });
    try {
      expect(supervision.ready.workers).toHaveLength(2);
      const { status, body } = await freshGet(supervision.port);
      expect(status).toBe(200);
      expect(supervision.pids()).toContain(Number(body));
      supervision.increment();
      expect(await eventually(() => supervision.pids().length === 3, 10_000)).toBe(true);
    } finally {
      expect(await supervision.stop()).toBe(0);
    }
    expect(supervision.pids()).toEqual([]);
  }, 30_000);

  it('run() rejects with the boot error when the app cannot load', async () => {
    await expect(run({ app: path.join(root, 'test/fixtures/boot-fails.mjs'), workers: 1, port: 0, logLevel: 'critical', errorSink: () => undefined })).rejects.toThrow(
      /the database URL is not set/,
    );
  }, 30_000);

  it('serve() refuses process-level settings and names run()', async () => {
    const app = (_environ: unknown, start: (status: string, headers: [string, string][]) => void) => {
      start('200 OK', []);
      return [];
    };
    await expect(serve(app, { workers: 2 })).rejects.toThrow(/workers is a setting of the process.*use run\(\)/);
    await expect(serve(app, { reload: true })).rejects.toThrow(/reload is a setting of the process/);
  });
});
