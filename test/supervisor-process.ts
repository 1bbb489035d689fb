/**
 * The `tsgi` command running a supervisor and its workers, for tests that use real processes and
 * real signals: start it, wait for lines in its log, load it with a hammering client.
 */
import { execFileSync } from 'node:child_process';
import { run, type Started } from './cli-process.js';
import { delay } from './helpers.js';

export interface Supervised extends Started {
  port: number;
  /** The pids the supervisor's `ready` line named. */
  firstPids: number[];
  log(): string;
  /** Waits until the log (from `from` on) matches; returns the match. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpExecArray>;
  /** The supervisor's child processes now. */
  workerPids(): number[];
}

/** Starts `tsgi --bind 127.0.0.1:0 args…` and waits for the supervisor's `ready` line. */
export async function startSupervised(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Supervised> {
  const started = run(['--bind', '127.0.0.1:0', ...args], env);
  const log = (): string => started.stderr.join('');
  const waitFor = async (pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpExecArray> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(log().slice(from));
      if (match !== null) return match;
      if (started.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no log line matching ${pattern} (exit ${started.child.exitCode}); the log:\n${log()}`);
      }
      await delay(20);
    }
  };
  const ready = await waitFor(/ready: \d+ workers? \(([\d, ]+)\) on \S*?:(\d+)\b/);
  return {
    ...started,
    port: Number(ready[2]),
    firstPids: ready[1]!.split(', ').map(Number),
    log,
    waitFor,
    workerPids: () => childrenOf(started.child.pid!),
  };
}

export function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((value) => value > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}

export interface Load {
  /** Responses by status; `failed` counts requests that got no response at all. */
  ok: number;
  failed: number;
  errors: string[];
  /** Which pids answered (the body of worker-app.mjs), in order. */
  pids: number[];
  stop(): Promise<void>;
}

/** `concurrency` keep-alive clients asking `path` back to back until stopped. */
export function hammer(port: number, concurrency = 6, path = '/'): Load {
  let running = true;
  const load: Load = {
    ok: 0,
    failed: 0,
    errors: [],
    pids: [],
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(10_000) });
        const text = await response.text();
        if (response.status === 200) {
          load.ok++;
          load.pids.push(Number(text));
        } else {
          load.failed++;
          load.errors.push(`status ${response.status}: ${text.slice(0, 200)}`);
        }
      } catch (error) {
        load.failed++;
        load.errors.push(String((error as Error).cause ?? error));
      }
    }
  };
  const loops = Array.from({ length: concurrency }, () => loop());
  return load;
}

/** One request on a fresh connection (no keep-alive pool), answered with the worker's pid. */
export async function freshGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: 'close' }, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}

/**
 * Sends batches of six concurrent requests (each should block the worker that takes it a moment,
 * so the others go elsewhere) until `workers` different pids have answered; a busy machine may
 * need more than one batch. Returns the pids seen and how many requests were made.
 */
export async function spreadOverWorkers(request: () => Promise<string>, workers = 2, maxBatches = 20): Promise<{ pids: Set<string>; requests: number }> {
  const pids = new Set<string>();
  let requests = 0;
  for (let batch = 0; batch < maxBatches && pids.size < workers; batch++) {
    const answers = await Promise.all(Array.from({ length: 6 }, request));
    requests += answers.length;
    for (const pid of answers) pids.add(pid);
  }
  return { pids, requests };
}
