// Load from autocannon, run inside the harness process. The client's CPU is the harness
// process's own CPU time (process.cpuUsage covers every thread, so autocannon's worker threads
// count too), which is how a client-bound run is recognised.
import autocannon from 'autocannon';

export const name = 'autocannon';

export function available() {
  return null; // a dev dependency: always there after npm install
}

/**
 * One load window of `seconds` against 127.0.0.1:port. Returns requests per second, latency percentiles
 * (milliseconds; autocannon records whole milliseconds), transfer rate, errors and client CPU.
 */
export async function runLoad({ port, scenario, connections, seconds, workers }) {
  const options = {
    url: `http://127.0.0.1:${port}${scenario.path}`,
    method: scenario.method,
    headers: scenario.headers,
    // A string, because a Buffer does not survive the trip to autocannon's worker threads.
    body: scenario.body === undefined ? undefined : scenario.body.toString('latin1'),
    connections,
    pipelining: scenario.pipelining ?? 1,
    duration: seconds,
    // autocannon checks whether its time is up once per sample interval (default 1 s, so a
    // 0.5 s run would last 1 s); sampling every 100 ms makes short runs as long as asked.
    sampleInt: 100,
    ...(workers > 0 ? { workers } : {}),
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon(options);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const elapsed = result.duration > 0 ? result.duration : wallMs / 1000;
  return {
    requests: result.requests.total,
    seconds: elapsed,
    rps: result.requests.total / elapsed,
    bytesPerSecond: result.throughput.total / elapsed,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    clientCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    clientThreads: workers > 0 ? workers : 1,
    wallMs,
  };
}
