// One measured run: start one server, check its answer, measure one scenario, stop it. Each run
// gets a fresh server process, so a run never inherits another's heap, JIT state or sockets.
import os from 'node:os';
import { checkAnswer, checkWebSocketAnswer } from './check-answer.mjs';
import { openWsLoad } from './drivers/ws-echo.mjs';
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
    await (scenario.kind === 'ws' ? checkWebSocketAnswer : checkAnswer)(server.port, scenario);
    const measure = { load: measureLoad, ws: measureWs, slow: measureSlow, idle: measureIdle }[scenario.kind];
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
  const window = await accountedWindow(server, () => driver.runLoad({ ...load, seconds: settings.duration }));
  return {
    ...window,
    serverCpuPerRequestMicros: window.requests > 0 ? window.serverCpuMicros / window.requests : null,
    clientBound: window.clientCpuPercent >= CLIENT_BOUND_PERCENT,
  };
}

/**
 * ws-echo: the websockets are opened once (the handshake is not what is measured), the warm-up
 * and the measured window are two runs of echo traffic over them.
 */
async function measureWs(server, scenario, settings) {
  const load = await openWsLoad({
    port: server.port,
    path: scenario.path,
    connections: settings.connections,
    depth: scenario.depth,
    size: scenario.messageBytes,
    processes: scenario.clientProcesses,
  });
  try {
    if (settings.warmup > 0) await load.runLoad(settings.warmup);
    const window = await accountedWindow(server, () => load.runLoad(settings.duration));
    // Client-bound: a client process at a full core (each is single-threaded), or a server
    // with time to spare (its event loop below a full core) on a machine that was full (the
    // processes plus the kernel's interrupt time, which carries loopback traffic) while the
    // client took the larger share of it. A server at a full core is the limit itself.
    const machineBusyPercent = window.clientCpuPercent + window.serverCpuPercent + window.otherCpuPercent + window.interruptCpuPercent;
    const serverHadTime = window.serverCpuPercent < CLIENT_BOUND_PERCENT;
    const machineFull = machineBusyPercent >= 0.9 * os.cpus().length * 100;
    return {
      ...window,
      serverCpuPerMessageMicros: window.messages > 0 ? window.serverCpuMicros / window.messages : null,
      clientBound:
        window.clientBusiestPercent >= CLIENT_BOUND_PERCENT || (serverHadTime && machineFull && window.clientCpuPercent > window.serverCpuPercent),
    };
  } finally {
    await load.close();
  }
}

/**
 * Runs one measured window and adds the server's CPU and memory over it, and what the rest of
 * the machine did meanwhile. `runWindow` resolves with at least { clientCpuPercent, wallMs }.
 */
async function accountedWindow(server, runWindow) {
  const cpuBefore = cpuMicros(server.pid);
  const machineBefore = machineCpuMicros();
  const window = await runWindow();
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
    peakRssBytes: peakRss,
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

/** How long the idle connections sit quiet before the server's memory is sampled. */
const IDLE_SETTLE_MS = 1500;

async function measureIdle(server, scenario) {
  const before = memory(server.pid);
  const idle = await openIdleConnections({ port: server.port, count: scenario.idleConnections });
  try {
    // Idle means idle for a moment: a server may make a connection cheaper once it has been quiet
    // (tsgi's llhttp backend gives its parser back after 1 s). Sample 1.5 s after the last
    // connection was answered, well before node:http (5 s) and uWS (10 s) close idle ones.
    await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
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

