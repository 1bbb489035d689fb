// `npm run bench:workers`: one worker against two, and how evenly two workers share the load,
// for the default backend (llhttp, with the cluster module's shared socket in both of Node's
// scheduling policies) and for uws (SO_REUSEPORT). Prints a Markdown table for bench/RESULTS.md.
//
// Each configuration runs the hello route of bench/apps/gateway-sync.mjs under wrk (one thread,
// keep-alive), and again with `Connection: close` on every request (a new connection each time:
// the case where the way connections are handed out matters). Rounds alternate configurations,
// and the table gives medians. Server CPU is read from /proc for every process of the server
// (supervisor and workers), so CPU per request is measured, not inferred from req/s.
//
//   npm run bench:workers -- [--seconds 5] [--rounds 3] [--connections 64]
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { cpuMicros } from './lib/proc-stats.mjs';
import { freePort } from './lib/free-port.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const index = args.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(args[index + 1]);
};
const SECONDS = option('seconds', 5);
const ROUNDS = option('rounds', 3);
const CONNECTIONS = option('connections', 64);

const CONFIGS = [
  { label: 'llhttp, 1 process', backend: 'llhttp', workers: 1, env: {} },
  { label: 'llhttp, 2 workers, shared socket (SCHED_NONE, the default)', backend: 'llhttp', workers: 2, env: {} },
  { label: 'llhttp, 2 workers, round robin (NODE_CLUSTER_SCHED_POLICY=rr)', backend: 'llhttp', workers: 2, env: { NODE_CLUSTER_SCHED_POLICY: 'rr' } },
  { label: 'uws, 1 process', backend: 'uws', workers: 1, env: {} },
  { label: 'uws, 2 workers, SO_REUSEPORT', backend: 'uws', workers: 2, env: {} },
];
const LOADS = [
  { label: 'keep-alive', headers: [] },
  { label: 'new connection per request', headers: ['-H', 'Connection: close'] },
];

if (spawnSync('wrk', ['-v']).error) {
  console.error('bench:workers needs wrk (apt-get install wrk)');
  process.exit(1);
}

/** Starts the server and resolves with its pids (supervisor first) once it serves. */
async function startServer(config) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['dist/cli/main.js', '--workers', String(config.workers), '--backend', config.backend, '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', 'bench/apps/gateway-sync.mjs:app'],
    { cwd: root, env: { ...process.env, ...config.env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (log += text));
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/hello`);
      await response.text();
      if (response.status === 200) break;
    } catch {
      await delay(50);
    }
  }
  // Workers come up one by one: wait until every one has been seen in the process tree.
  let pids = [];
  for (let i = 0; i < 100; i++) {
    pids = childPids(child.pid);
    if (config.workers === 1 || pids.length === config.workers) break;
    await delay(50);
  }
  const workers = config.workers === 1 ? [child.pid] : pids;
  return { child, port, workers, all: [child.pid, ...(config.workers === 1 ? [] : pids)], log: () => log };
}

function childPids(pid) {
  const out = spawnSync('ps', ['--ppid', String(pid), '-o', 'pid='], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((line) => Number(line.trim())).filter((value) => value > 0);
}

async function stopServer(server) {
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.once('exit', resolve));
}

function wrk(port, load) {
  const result = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, ...load.headers, `http://127.0.0.1:${port}/hello`], { encoding: 'utf8' });
  const requests = Number(/(\d+) requests in/.exec(result.stdout)?.[1] ?? NaN);
  const errors = /Socket errors: (.*)/.exec(result.stdout)?.[1] ?? '';
  return { requests, errors };
}

async function measure(config, load) {
  const server = await startServer(config);
  try {
    wrk(server.port, { ...load, headers: load.headers }); // warm-up is a full window: JIT, pools, connections
    const before = server.all.map((pid) => cpuMicros(pid));
    const started = performance.now();
    const { requests, errors } = wrk(server.port, load);
    const seconds = (performance.now() - started) / 1000;
    const after = server.all.map((pid) => cpuMicros(pid));
    const used = after.map((value, i) => value - before[i]);
    const workerCpu = config.workers === 1 ? [used[0]] : used.slice(1);
    const total = used.reduce((sum, value) => sum + value, 0);
    return {
      rps: requests / seconds,
      cpuPerRequest: total / requests,
      // The busiest worker's share of the workers' CPU time: 50% is an even split of two.
      busiestShare: Math.max(...workerCpu) / workerCpu.reduce((sum, value) => sum + value, 0),
      errors,
    };
  } finally {
    await stopServer(server);
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

const samples = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const load of LOADS) {
    for (const config of round % 2 === 0 ? CONFIGS : [...CONFIGS].reverse()) {
      const key = `${config.label}|${load.label}`;
      const result = await measure(config, load);
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push(result);
      console.error(`round ${round + 1}: ${config.label}, ${load.label}: ${Math.round(result.rps)} req/s, ${result.cpuPerRequest.toFixed(1)} µs CPU/req, busiest ${(result.busiestShare * 100).toFixed(0)}%${result.errors ? `, errors ${result.errors}` : ''}`);
    }
  }
}

console.log(`wrk -t1 -c${CONNECTIONS}, ${SECONDS} s windows, medians of ${ROUNDS} alternating rounds, GET /hello (gateway-sync)\n`);
for (const load of LOADS) {
  console.log(`**${load.label}**\n`);
  console.log('| server | req/s | vs 1 process | server CPU per request | busiest worker\'s share of worker CPU |');
  console.log('|---|---|---|---|---|');
  for (const config of CONFIGS) {
    const results = samples.get(`${config.label}|${load.label}`);
    const rps = median(results.map((r) => r.rps));
    const single = median(samples.get(`${config.backend}, 1 process|${load.label}`).map((r) => r.rps));
    const share = config.workers === 1 ? '–' : `${(median(results.map((r) => r.busiestShare)) * 100).toFixed(0)}%`;
    console.log(`| ${config.label} | ${Math.round(rps)} | ${(rps / single).toFixed(2)}× | ${median(results.map((r) => r.cpuPerRequest)).toFixed(1)} µs | ${share} |`);
  }
  console.log('');
}
