// What each scenario asks of a server. `load` scenarios are HTTP throughput runs under a load
// generator; `ws` ones are websocket echo round trips from bench/lib/ws-echo-client.mjs; `slow`
// and `idle` measure memory and are driven by raw sockets instead.
//
// `quick`: whether --quick runs the scenario; a list of server names runs it with only those
// (unless --servers names others), which keeps the CI smoke run within its 90 s.
import { BODY_64K, ECHO_SIZE, STATIC_PATH, HEADER_NAMES, HELLO, JSON_BODY, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS, STREAM_CHUNK } from '../apps/payloads.mjs';

// A fixed pattern, so an echo that mangles, reorders or truncates bytes is noticed. ASCII only:
// autocannon's worker threads accept a body only as a string, and wrk.lua rebuilds the same
// bytes with the same formula.
const ECHO_BODY = Buffer.from(Array.from({ length: ECHO_SIZE }, (_, i) => 97 + ((i * 7) % 26)));
const THIRTY_HEADERS = Object.fromEntries(HEADER_NAMES.map((name, i) => [name, `value-${i + 1}`]));

// --quick's server lists: every server answers hello; the event app's rows where they matter
// (its request-body path, the pipelined-hello target against uws-raw, the websocket echo).
const QUICK_ECHO = ['tsgi-llhttp-sync', 'tsgi-llhttp-async', 'tsgi-llhttp-event', 'tsgi-uws-sync', 'node-http', 'uws-raw'];
const QUICK_PIPELINED = ['tsgi-llhttp-sync', 'tsgi-llhttp-event', 'tsgi-uws-sync', 'node-http', 'uws-raw'];
const QUICK_WS = ['tsgi-llhttp-event', 'tsgi-uws-event', 'node-http', 'uws-raw'];

export const SCENARIOS = [
  { name: 'hello', kind: 'load', method: 'GET', path: '/hello', expect: { body: Buffer.from(HELLO) }, quick: true },
  { name: 'json', kind: 'load', method: 'GET', path: '/json', expect: { body: JSON_BODY } },
  { name: '64k', kind: 'load', method: 'GET', path: '/64k', expect: { body: BODY_64K } },
  { name: '1m-stream', kind: 'load', method: 'GET', path: '/1m', expect: { bytes: STREAM_1M_CHUNKS * STREAM_CHUNK.length } },
  { name: 'echo-4k', kind: 'load', method: 'POST', path: '/echo', body: ECHO_BODY, headers: { 'content-type': 'application/octet-stream' }, expect: { body: ECHO_BODY }, quick: QUICK_ECHO },
  { name: 'headers-30', kind: 'load', method: 'GET', path: '/headers', headers: THIRTY_HEADERS, expect: { body: Buffer.from('30') } },
  // autocannon gets 2 worker threads here: measured +12% req/s against uws-raw over its main
  // thread alone (for unpipelined hello the same change lost 10%, so the others keep 0).
  { name: 'pipelined-hello', kind: 'load', method: 'GET', path: '/hello', pipelining: 10, autocannonWorkers: 2, expect: { body: Buffer.from(HELLO) }, quick: QUICK_PIPELINED },
  // Websocket echo: every connection keeps `depth` 32-byte text messages in flight and sends the
  // next one as each echo returns. With 10 in flight the server reads and writes batches, so its
  // own cost per message shows (the main row); with 1, every message is a read and a write
  // system call on both sides, so it is mostly round-trip latency. Two client processes: one
  // alone cannot keep up with uws-raw. Gateway-app servers have no websockets: n/a.
  { name: 'ws-echo', kind: 'ws', path: '/ws', depth: 10, messageBytes: 32, clientProcesses: 2, quick: QUICK_WS },
  { name: 'ws-echo-1', kind: 'ws', path: '/ws', depth: 1, messageBytes: 32, clientProcesses: 2 },
  {
    name: 'slow-100m', kind: 'slow', method: 'GET', path: '/100m',
    bytes: STREAM_100M_CHUNKS * STREAM_CHUNK.length,
    // The reader takes one socket read (at most 64 KiB) and then waits this long: ~30-60 MB/s,
    // far below what loopback can carry, so a server that ignores backpressure piles up memory.
    pauseMs: 1,
    expect: { body: Buffer.from(HELLO) }, checkPath: '/hello',
  },
  // Named with --scenario only: a 64 KiB file from disk, for the servers that serve files.
  { name: 'static-64k', kind: 'load', method: 'GET', path: STATIC_PATH, static: true, extra: true, expect: { body: BODY_64K } },
  { name: 'idle-10k', kind: 'idle', method: 'GET', path: '/hello', idleConnections: 10_000, expect: { body: Buffer.from(HELLO) } },
];

export function findScenarios(names, { quick }) {
  if (names === undefined) return SCENARIOS.filter((scenario) => scenario.extra !== true && (!quick || scenario.quick !== undefined));
  return names.map((name) => {
    const scenario = SCENARIOS.find((candidate) => candidate.name === name);
    if (scenario === undefined) throw new Error(`unknown scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
    return scenario;
  });
}

/**
 * The servers a scenario runs with: `selected` (from --servers, or all), narrowed to the
 * scenario's quick list in --quick when --servers was not given.
 */
export function serversFor(scenario, selected, { quick, serversGiven }) {
  if (!quick || serversGiven || !Array.isArray(scenario.quick)) return selected;
  return selected.filter((server) => scenario.quick.includes(server.name));
}
