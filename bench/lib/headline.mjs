// The handful of ratios that say where tsgi stands: its overhead over Node's own http module and
// its distance from the raw uWebSockets.js ceiling, each measured within one run. For ws-echo
// the references are the `ws` package on node:http and uWS's own websockets, and the ratios
// compare echoed messages instead of requests.
import { BASELINE } from './servers.mjs';

const HEADLINES = [
  ['tsgi-uws-sync', 'node-http', 'hello'],
  ['tsgi-uws-sync', 'node-http', 'pipelined-hello'],
  ['tsgi-uws-sync', 'uws-raw', 'hello'],
  ['tsgi-uws-sync', 'uws-raw', 'pipelined-hello'],
  ['tsgi-uws-async', 'uws-raw', 'pipelined-hello'],
  ['tsgi-uws-event', 'uws-raw', 'hello'],
  ['tsgi-uws-event', 'uws-raw', 'pipelined-hello'],
  ['tsgi-node', 'node-http', 'hello'],
  ['tsgi-node', 'node-http', 'pipelined-hello'],
  ['tsgi-node-event', 'node-http', 'hello'],
  ['tsgi-node-event', 'node-http', 'pipelined-hello'],
  ['tsgi-uws-event', 'uws-raw', 'ws-echo'],
  ['tsgi-uws-event', 'node-http', 'ws-echo'],
  ['tsgi-node-event', 'node-http', 'ws-echo'],
];

/**
 * [{ label, unit, rps, cpu, clientBound }]: throughput ratio (req/s, or messages/s when unit is
 * 'msg') and server-CPU-per-request (or per message) ratio.
 */
export function headlineRatios(summary) {
  const lines = [];
  for (const [server, reference, scenario] of HEADLINES) {
    const row = summary[scenario]?.[server];
    if (row === undefined || row.notApplicable) continue;
    const vs = reference === BASELINE ? 'Baseline' : 'Ceiling';
    const unit = row[`mpsVs${vs}`] !== undefined ? 'msg' : 'req';
    const rps = unit === 'msg' ? row[`mpsVs${vs}`] : row[`rpsVs${vs}`];
    const cpu = unit === 'msg' ? row[`cpuPerMessageVs${vs}`] : row[`cpuPerRequestVs${vs}`];
    const refRow = summary[scenario]?.[reference];
    if (rps === null || rps === undefined) continue;
    lines.push({
      label: `${server} ÷ ${reference}, ${scenario}`,
      unit,
      rps,
      cpu,
      clientBound: row.clientBoundRounds > 0 || (refRow?.clientBoundRounds ?? 0) > 0,
    });
  }
  return lines;
}

export function headlineText(lines) {
  return lines
    .map((l) => `${l.label.padEnd(44)} ${l.unit}/s ${l.rps.toFixed(2)}×   server µs/${l.unit} ${l.cpu === null ? '–' : l.cpu.toFixed(2) + '×'}${l.clientBound ? '   (client-bound rounds: see table)' : ''}`)
    .join('\n');
}
