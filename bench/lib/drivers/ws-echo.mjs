// Load for the ws-echo scenarios: websocket echo round trips from bench/lib/ws-echo-client.mjs
// (the `ws` package's client), run in `processes` child processes that split the connections and
// are summed. One Node process tops out around the rate a bare uWS server answers, so a single
// client would measure itself; two share the load and their CPU is reported, so a run where the
// client still was the limit is flagged (see clientBound in measure.mjs).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild, track } from '../children.mjs';

const CLIENT = fileURLToPath(new URL('../ws-echo-client.mjs', import.meta.url));
const READY_TIMEOUT_MS = 30_000;

/** One client process and its JSON-lines conversation. */
function startClient(args) {
  const child = track(spawn(process.execPath, [CLIENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    waiting.shift()?.resolve(message);
  });
  child.once('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`a ws-echo client exited (code ${code}):\n${stderr}`));
  });
  return {
    child,
    next(timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('a ws-echo client did not answer in time')), timeoutMs);
        waiting.push({
          resolve: (message) => (clearTimeout(timer), resolve(message)),
          reject: (error) => (clearTimeout(timer), reject(error)),
        });
      });
    },
    send: (line) => child.stdin.write(line + '\n'),
  };
}

/** Percentile (0-100) of merged sparse histograms ([µs, count] pairs), in milliseconds. */
function percentileMs(pairs, total, p) {
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const [us, count] of pairs) {
    seen += count;
    if (seen >= rank) return us / 1000;
  }
  return pairs.at(-1)[0] / 1000;
}

function mergeHistograms(windows) {
  const counts = new Map();
  for (const w of windows) for (const [us, count] of w.histogram) counts.set(us, (counts.get(us) ?? 0) + count);
  return [...counts].sort((a, b) => a[0] - b[0]);
}

/**
 * Starts the client processes and waits until every connection is open. Returns
 * { ready, runLoad(seconds), close() }; runLoad resolves with the window's summed numbers.
 */
export async function openWsLoad({ port, path, connections, depth, size, processes }) {
  const count = Math.max(1, Math.min(processes, connections));
  const clients = Array.from({ length: count }, (_, i) => {
    // Split the connections as evenly as possible.
    const share = Math.floor(connections / count) + (i < connections % count ? 1 : 0);
    return startClient(['--port', String(port), '--path', path, '--connections', String(share), '--depth', String(depth), '--size', String(size)]);
  });
  const close = async () => {
    for (const c of clients) if (c.child.exitCode === null) c.send('exit');
    await Promise.all(clients.map((c) => stopChild(c.child, 2000)));
  };
  let readies;
  try {
    readies = await Promise.all(clients.map((c) => c.next(READY_TIMEOUT_MS)));
  } catch (error) {
    await close();
    throw error;
  }
  const ready = {
    requested: connections,
    open: readies.reduce((sum, r) => sum + r.open, 0),
    failed: readies.reduce((sum, r) => sum + r.failed, 0),
    firstError: readies.find((r) => r.firstError)?.firstError ?? null,
  };
  if (ready.open < connections) {
    await close();
    throw new Error(`only ${ready.open} of ${connections} websockets opened (${ready.firstError ?? 'no error given'})`);
  }
  return {
    ready,
    close,
    async runLoad(seconds) {
      const started = performance.now();
      for (const c of clients) c.send(`run ${seconds}`);
      const windows = await Promise.all(clients.map((c) => c.next(seconds * 1000 + 15_000)));
      const wallMs = performance.now() - started;
      const messages = windows.reduce((sum, w) => sum + w.messages, 0);
      const histogram = mergeHistograms(windows);
      const cpuPercents = windows.map((w) => (w.cpuMicros / 1000 / wallMs) * 100);
      return {
        messages,
        // Each process's rate over its own window, summed (they start within a millisecond).
        seconds: Math.max(...windows.map((w) => w.seconds)),
        messagesPerSecond: windows.reduce((sum, w) => sum + w.messages / w.seconds, 0),
        p50Ms: percentileMs(histogram, messages, 50),
        p99Ms: percentileMs(histogram, messages, 99),
        bytesPerSecond: null,
        // Echoes that came back wrong, connections lost mid-run, messages never answered.
        mismatches: windows.reduce((sum, w) => sum + w.mismatches, 0),
        errors: windows.reduce((sum, w) => sum + w.mismatches + w.closed + w.stuck, 0),
        firstError: windows.find((w) => w.firstError)?.firstError ?? null,
        clientCpuPercent: cpuPercents.reduce((a, b) => a + b, 0),
        clientBusiestPercent: Math.max(...cpuPercents),
        clientProcesses: count,
        wallMs,
      };
    },
  };
}
