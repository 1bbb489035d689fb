// Load from wrk (C, epoll), the lighter client: it leaves more of the 2 cores to the server, so
// it shows the ceiling better than autocannon. wrk runs under `sh -c`, and after wrk exits the
// shell reads its own /proc/<pid>/stat, whose cutime/cstime then hold wrk's CPU time: the
// client's CPU without polling a process that is about to vanish.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { childrenCpuMicrosFromStatLine } from '../proc-stats.mjs';
import { track } from '../children.mjs';

export const name = 'wrk';
const WRK = process.env.WRK ?? 'wrk';
const SCRIPT = fileURLToPath(new URL('./wrk.lua', import.meta.url));
const RUN_THEN_REPORT_CPU = '"$@"; status=$?; read -r stat < /proc/$$/stat; echo "CHILD_STAT $stat"; exit $status';

/** null when wrk can run, else a message saying how to get it. */
export function available() {
  const probe = spawnSync(WRK, ['-v'], { encoding: 'utf8' });
  if (probe.error) {
    return `--driver wrk needs the wrk binary, which is not installed here (${probe.error.code}). ` +
      'Install it (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk) or set WRK=/path/to/wrk, ' +
      'or use the default driver (autocannon).';
  }
  return null;
}

export function version() {
  const probe = spawnSync(WRK, ['-v'], { encoding: 'utf8' });
  return (probe.stdout + probe.stderr).split('\n')[0].trim();
}

/**
 * One load window. wrk takes whole seconds only, so a fractional duration is rounded up. Its
 * latency percentiles are left out for pipelined runs: wrk times a pipelined batch, then
 * "corrects" for coordinated omission with the per-response interval, which yields nonsense
 * (a p99 of 0).
 */
export async function runLoad({ port, scenario, connections, seconds, threads: requestedThreads }) {
  const threads = Math.max(1, requestedThreads ?? 1); // wrk needs at least one thread
  const depth = scenario.pipelining ?? 1;
  const args = [
    WRK, `-t${threads}`, `-c${connections}`, `-d${Math.max(1, Math.ceil(seconds))}s`, '--timeout', '10s',
    '-s', SCRIPT, `http://127.0.0.1:${port}${scenario.path}`, '--',
    scenario.method, String(scenario.body?.length ?? 0), String(depth), String(Object.keys(scenario.headers ?? {}).filter((h) => h.startsWith('x-h-')).length),
  ];
  const started = performance.now();
  const child = track(spawn('/bin/sh', ['-c', RUN_THEN_REPORT_CPU, 'sh', ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const wallMs = performance.now() - started;
  const resultLine = /^WRK_RESULT (.*)$/m.exec(stdout);
  const statLine = /^CHILD_STAT (.*)$/m.exec(stdout);
  if (code !== 0 || resultLine === null) throw new Error(`wrk failed (exit ${code}):\n${stderr || stdout}`);
  const r = JSON.parse(resultLine[1]);
  const elapsed = r.duration_us / 1e6;
  const cpuMicros = statLine === null ? NaN : childrenCpuMicrosFromStatLine(statLine[1]);
  return {
    requests: r.requests,
    seconds: elapsed,
    rps: r.requests / elapsed,
    bytesPerSecond: r.bytes / elapsed,
    p50Ms: depth > 1 ? null : r.p50_us / 1000,
    p99Ms: depth > 1 ? null : r.p99_us / 1000,
    errors: r.connect + r.read + r.write,
    timeouts: r.timeout,
    non2xx: r.status,
    clientCpuPercent: (cpuMicros / 1000 / wallMs) * 100,
    clientThreads: threads,
    wallMs,
  };
}
