#!/usr/bin/env node
// npm run flame -- [--scenario hello] [--backend llhttp|uws|node] [--app sync|async|event|express|hono] [--quick] [--duration S]
//
// Profiles the tsgi CLI under autocannon load with 0x and saves the interactive flamegraph as
// flamegraphs/<scenario>-<backend>-<YYYY-MM-DD>.html. 0x runs the server with V8's sampling
// profiler (--prof); the harness waits for the port, warms up, loads it, then sends the server
// SIGINT, on which 0x's preload makes it exit and flush the profile; 0x then renders the graph.
// 0x's scratch files live in a temporary directory that is removed afterwards.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import zeroEks from '0x';
import { checkAnswer } from './lib/check-answer.mjs';
import * as autocannon from './lib/drivers/autocannon.mjs';
import { canConnect, freePort } from './lib/free-port.mjs';
import { findScenarios } from './lib/scenarios.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLI = path.join(ROOT, 'dist/cli/main.js');
// Each app with the --interface it is served with (the adapters' apps answer hello and json only).
const APPS = {
  sync: { file: path.join(ROOT, 'bench/apps/gateway-sync.mjs'), interface: [] },
  async: { file: path.join(ROOT, 'bench/apps/gateway-async.mjs'), interface: [] },
  event: { file: path.join(ROOT, 'bench/apps/event.mjs'), interface: ['--interface', 'event'] },
  express: { file: path.join(ROOT, 'bench/apps/express.mjs'), interface: ['--interface', 'node'] },
  hono: { file: path.join(ROOT, 'bench/apps/hono.mjs'), interface: ['--interface', 'fetch'] },
};
const USAGE = `usage: npm run flame -- [options]

  --scenario NAME     a throughput scenario of npm run bench (default hello)
  --backend llhttp|uws|node  tsgi backend (default llhttp, the default backend)
  --app sync|async|event|express|hono
                      bench/apps/gateway-sync.mjs, gateway-async.mjs, event.mjs, express.mjs (an
                      Express 5 app, --interface node) or hono.mjs (a Hono app, --interface fetch);
                      default sync
  --duration S        seconds of load after the warm-up (default 20; --quick 5)
  --connections N     default 50
  --quick             5 s of load`;

const COLLECT_DELAY_MS = 2500;
const log = (text) => process.stderr.write(text + '\n');
function fail(message) {
  log(`flame: ${message}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      scenario: { type: 'string', default: 'hello' },
      backend: { type: 'string', default: 'llhttp' },
      app: { type: 'string', default: 'sync' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '50' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  fail(`${error.message}\n\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (!['llhttp', 'uws', 'node'].includes(values.backend)) fail(`--backend must be llhttp, uws or node; got ${values.backend}`);
if (!(values.app in APPS)) fail(`--app must be one of ${Object.keys(APPS).join(', ')}; got ${values.app}`);
let scenario;
try {
  [scenario] = findScenarios([values.scenario], { quick: false });
} catch (error) {
  fail(error.message);
}
if (scenario.kind !== 'load') fail(`${scenario.name} is not a throughput scenario; profile one of hello, json, 64k, 1m-stream, echo-4k, headers-30, pipelined-hello`);
if (!existsSync(CLI)) fail('dist/cli/main.js is missing: run npm run build (npm run flame builds first)');
const seconds = Number(values.duration ?? (values.quick ? 5 : 20));
const connections = Number(values.connections);
if (!(seconds > 0) || !(connections > 0)) fail('--duration and --connections must be positive numbers');

const port = await freePort();
const workingDir = mkdtempSync(path.join(os.tmpdir(), 'tsgi-flame-'));
const date = new Date().toISOString().slice(0, 10);
const suffix = values.app === 'sync' ? '' : `-${values.app}`;
const target = path.join(ROOT, 'flamegraphs', `${scenario.name}-${values.backend}${suffix}-${date}.html`);
const zeroEksArgs = {
  argv: [
    CLI, '--backend', values.backend, '--bind', `127.0.0.1:${port}`, '--log-level', 'warning',
    ...APPS[values.app].interface, APPS[values.app].file,
  ],
  workingDir,
  outputDir: path.join(workingDir, 'profile'),
  name: 'flamegraph',
  title: `tsgi ${scenario.name}, ${values.backend} backend, ${values.app} app, ${seconds} s under autocannon (${date})`,
  silent: true,
  // Ticks from the first COLLECT_DELAY_MS (module loading, the JIT at work during warm-up) are
  // left out of the graph; the warm-up below lasts until then. 0x reads this when it starts.
  collectDelay: COLLECT_DELAY_MS,
};

const cleanUp = () => rmSync(workingDir, { recursive: true, force: true });
process.on('exit', cleanUp);

log(`profiling tsgi (${values.backend} backend, ${values.app} app) on 127.0.0.1:${port} with 0x; ${scenario.name} for ${seconds} s after a warm-up`);
const spawnedAt = performance.now();
const rendering = zeroEks(zeroEksArgs);
rendering.catch(() => {}); // awaited below; keeps an early failure from being "unhandled"

try {
  await waitForPort(port, rendering);
  await checkAnswer(port, scenario);
  // Warm up until the collection delay is over (at least 1 s), so the graph shows steady state.
  const warmup = Math.max(1, (COLLECT_DELAY_MS - (performance.now() - spawnedAt)) / 1000);
  await autocannon.runLoad({ port, scenario, connections, seconds: warmup, workers: scenario.autocannonWorkers ?? 0 });
  const result = await autocannon.runLoad({ port, scenario, connections, seconds, workers: scenario.autocannonWorkers ?? 0 });
  log(`load: ${Math.round(result.rps).toLocaleString('en-US')} req/s (slower than an unprofiled run: --prof samples every millisecond)`);
} catch (error) {
  stopServer();
  await rendering.catch(() => {});
  fail(error.message);
}
stopServer();
log('server stopped; 0x is turning the V8 log into a flamegraph…');
let fileUrl;
try {
  fileUrl = await rendering;
} catch (error) {
  fail(`0x could not build the flamegraph: ${error.message}`);
}
mkdirSync(path.dirname(target), { recursive: true });
copyFileSync(fileURLToPath(fileUrl), target);
cleanUp();
log(`flamegraph: ${path.relative(ROOT, target)}`);
process.exit(0);

/** SIGINT is what 0x expects: its preload in the server exits on it and V8 flushes the log. */
function stopServer() {
  if (zeroEksArgs.pid !== undefined) {
    try {
      process.kill(zeroEksArgs.pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
}

async function waitForPort(portNumber, whileRunning) {
  let ended = false;
  whileRunning.then(() => (ended = true), () => (ended = true));
  const deadline = Date.now() + 20_000;
  while (!(await canConnect(portNumber))) {
    if (ended) throw new Error('the server exited before it listened');
    if (Date.now() > deadline) throw new Error(`the server did not listen on 127.0.0.1:${portNumber} within 20 s`);
    await sleep(50);
  }
}
