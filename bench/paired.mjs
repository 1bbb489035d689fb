// Two servers measured at the same time: each gets its own wrk with half the connections, in the
// same windows, so both see the same machine. On a shared machine whose speed drifts between
// runs (the per-run cost of one server can move by half from one round to the next here), the
// sequential rounds of `npm run bench` cannot resolve a difference of a few percent; the ratio of
// two servers loaded together can. Ratios are A ÷ B per window, then the median; totals too.
//
//   npm run build
//   node bench/paired.mjs --a tsgi-llhttp-express --b express-node-http --rounds 4 --duration 15
//
// Server names are bench/lib/servers.mjs's; --scenario is one of bench/lib/scenarios.mjs's load
// scenarios (hello by default). Nothing is written: the numbers go to stdout.
import { parseArgs } from 'node:util';
import * as wrk from './lib/drivers/wrk.mjs';
import { cpuMicros } from './lib/proc-stats.mjs';
import { findScenarios } from './lib/scenarios.mjs';
import { startServer } from './lib/server-process.mjs';
import { median } from './lib/summarize.mjs';
import { findServers } from './lib/servers.mjs';
import { checkAnswer } from './lib/check-answer.mjs';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    scenario: { type: 'string', default: 'hello' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '15' },
    connections: { type: 'string', default: '50' },
  },
});
if (values.a === undefined || values.b === undefined) {
  console.error('usage: node bench/paired.mjs --a SERVER --b SERVER [--scenario hello] [--rounds 4] [--duration 15] [--connections 50]');
  process.exit(2);
}
const missing = wrk.available();
if (missing !== null) {
  console.error(missing);
  process.exit(2);
}
const [scenario] = findScenarios([values.scenario], { quick: false });
if (scenario.kind !== 'load') {
  console.error(`--scenario ${scenario.name} is not a load scenario`);
  process.exit(2);
}
const rounds = Number(values.rounds);
const seconds = Number(values.duration);
const perServer = Math.max(1, Math.floor(Number(values.connections) / 2));
const [definitionA, definitionB] = findServers([values.a, values.b]);

/** Both servers under load for `seconds`: requests and server CPU (µs) of each. */
async function window(a, b, length) {
  const before = [cpuMicros(a.pid), cpuMicros(b.pid)];
  const load = (server) => wrk.runLoad({ port: server.port, scenario, connections: perServer, seconds: length, threads: 1 });
  const [loadA, loadB] = await Promise.all([load(a), load(b)]);
  return {
    a: { requests: loadA.requests, rps: loadA.rps, cpu: cpuMicros(a.pid) - before[0] },
    b: { requests: loadB.requests, rps: loadB.rps, cpu: cpuMicros(b.pid) - before[1] },
  };
}

const a = await startServer(definitionA);
const b = await startServer(definitionB);
try {
  await checkAnswer(a.port, scenario);
  await checkAnswer(b.port, scenario);
  console.log(`${scenario.name}: ${a.name} (A) and ${b.name} (B) loaded together, ${perServer} connections each, ${rounds} × ${seconds} s`);
  // Warm-up: JIT and connection set-up, thrown away.
  await window(a, b, 2);
  const rpsRatios = [];
  const cpuRatios = [];
  const totals = { a: { requests: 0, cpu: 0 }, b: { requests: 0, cpu: 0 } };
  for (let round = 1; round <= rounds; round++) {
    const result = await window(a, b, seconds);
    const usA = result.a.cpu / result.a.requests;
    const usB = result.b.cpu / result.b.requests;
    rpsRatios.push(result.a.rps / result.b.rps);
    cpuRatios.push(usA / usB);
    for (const side of ['a', 'b']) {
      totals[side].requests += result[side].requests;
      totals[side].cpu += result[side].cpu;
    }
    console.log(
      `round ${round}: A ${Math.round(result.a.rps)} req/s ${usA.toFixed(1)} µs/req, B ${Math.round(result.b.rps)} req/s ${usB.toFixed(1)} µs/req; ` +
        `A÷B req/s ${(result.a.rps / result.b.rps).toFixed(3)}, µs/req ${(usA / usB).toFixed(3)}`,
    );
  }
  const totalCpuRatio = totals.a.cpu / totals.a.requests / (totals.b.cpu / totals.b.requests);
  console.log(
    `A÷B: req/s median ${median(rpsRatios).toFixed(3)} (all windows ${(totals.a.requests / totals.b.requests).toFixed(3)}), ` +
      `server µs/req median ${median(cpuRatios).toFixed(3)} (all windows ${totalCpuRatio.toFixed(3)})`,
  );
} finally {
  await a.stop();
  await b.stop();
}
