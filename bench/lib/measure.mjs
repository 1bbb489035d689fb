// One measured run: start one server, check its answer, measure one scenario, stop it. Each run
// gets a fresh server process, so a run never inherits another's heap, JIT state or sockets.
import os from 'node:os';
import { checkAnswer } from './check-answer.mjs';
import { openIdleConnections } from './idle-connections.mjs';
import { cpuMicros, machineCpuMicros, memory } from './proc-stats.mjs';
import { readSlowly } from './slow-reader.mjs';
import { startServer } from './server-process.mjs';

/** A client at or above this share of one core is measuring itself, not the server. */
export const CLIENT_BOUND_PERCENT = 90;
/** Other processes using this much of a core during a window make it a noisy measurement. */
export const NOISY_PERCENT = 50;

export async function runOne({ server: definition, scenario, round, settings, driver }) {
  const record = { scenario: scenario.name, server: definition.name, round, startedAt: new Date().toISOString(), loadAverage1m: os.loadavg()[0] };
  let server;
  try {
    server = await startServer(definition);
    record.pid = server.pid;
    await checkAnswer(server.port, scenario);
    const measure = { load: measureLoad, slow: measureSlow, idle: measureIdle }[scenario.kind];
    Object.assign(record, await measure(server, scenario, settings, driver));
  } catch (error) {
    record.error = error.message + (server && server.stderrTail() && !error.message.includes(server.stderrTail()) ? `\nserver stderr:\n${server.stderrTail()}` : '');
  } finally {
    await server?.stop();
  }
  return record;
}

async function measureLoad(server, scenario, settings, driver) {
  const workers = settings.workers ?? (driver.name === 'autocannon' ? (scenario.autocannonWorkers ?? 0) : 1);
  const load = { port: server.port, scenario, connections: settings.connections, workers, threads: workers };
  // Warm-up: JIT, caches and connection set-up happen here and are thrown away.
  if (settings.warmup > 0) await driver.runLoad({ ...load, seconds: settings.warmup });
  const cpuBefore = cpuMicros(server.pid);
  const machineBefore = machineCpuMicros();
  const window = await driver.runLoad({ ...load, seconds: settings.duration });
  const machineAfter = machineCpuMicros();
  const serverCpuMicros = cpuMicros(server.pid) - cpuBefore;
  const { peakRss } = memory(server.pid);
  assertAlive(server);
  const asPercent = (micros) => (micros / 1000 / window.wallMs) * 100; // % of one core
  const serverCpuPercent = asPercent(serverCpuMicros);
  const processesPercent = asPercent(machineAfter.processes - machineBefore.processes);
  // Other processes' CPU meanwhile (another tenant's job on this shared machine). Tick-based
  // accounting makes small negative values possible: those mean "nothing else".
  const otherCpuPercent = Math.max(0, processesPercent - serverCpuPercent - window.clientCpuPercent);
  return {
    ...window,
    serverCpuMicros,
    serverCpuPercent,
    otherCpuPercent,
    interruptCpuPercent: asPercent(machineAfter.interrupts - machineBefore.interrupts),
    stealPercent: asPercent(machineAfter.steal - machineBefore.steal),
    noisy: otherCpuPercent >= NOISY_PERCENT,
    serverCpuPerRequestMicros: window.requests > 0 ? serverCpuMicros / window.requests : null,
    peakRssBytes: peakRss,
    clientBound: window.clientCpuPercent >= CLIENT_BOUND_PERCENT,
  };
}

async function measureSlow(server, scenario) {
  const before = memory(server.pid);
  const cpuBefore = cpuMicros(server.pid);
  const read = await readSlowly({ port: server.port, path: scenario.path, expectedBytes: scenario.bytes, pauseMs: scenario.pauseMs });
  const serverCpuMicros = cpuMicros(server.pid) - cpuBefore;
  const after = memory(server.pid);
  assertAlive(server);
  return {
    ...read,
    serverCpuMicros,
    rssBeforeBytes: before.rss,
    peakRssBytes: after.peakRss,
    growthBytes: after.peakRss - before.rss,
  };
}

async function measureIdle(server, scenario) {
  const before = memory(server.pid);
  const idle = await openIdleConnections({ port: server.port, count: scenario.idleConnections });
  try {
    // Sample at once: node:http closes idle keep-alive connections after 5 s, uWS after 10 s.
    const during = memory(server.pid);
    const openAtSample = await idle.countOpen();
    return {
      requested: idle.ready.requested,
      answered: idle.ready.answered,
      failed: idle.ready.failed,
      firstError: idle.ready.firstError,
      openingSeconds: idle.ready.seconds,
      openAtSample,
      rssBeforeBytes: before.rss,
      rssIdleBytes: during.rss,
      peakRssBytes: during.peakRss,
      bytesPerConnection: openAtSample > 0 ? (during.rss - before.rss) / openAtSample : null,
    };
  } finally {
    // Server first: its side of each connection then takes the TIME_WAIT, not the client's
    // ephemeral ports, which later runs need.
    await server.stop();
    await idle.close();
  }
}

/** /proc still answers for a dead child that has not been reaped yet: ask the child itself. */
function assertAlive(server) {
  if (server.exited) throw new Error('the server exited during the run');
}

