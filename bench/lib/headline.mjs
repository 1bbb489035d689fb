// The handful of ratios that say where tsgi stands, each measured within one run: its overhead
// over Node's own http module, its distance from the raw uWebSockets.js ceiling, the default
// backend (llhttp) against tsgi on uws, and the async and event apps against the sync one on the
// same backend (the targets of the llhttp issue). For ws-echo the references are the `ws`
// package on node:http and uWS's own websockets, and the ratios compare echoed messages.
import { pairedRatio } from './summarize.mjs';

const HEADLINES = [
  ['tsgi-llhttp-sync', 'node-http', 'hello'],
  ['tsgi-llhttp-sync', 'node-http', 'pipelined-hello'],
  ['tsgi-llhttp-sync', 'tsgi-uws-sync', 'hello'],
  ['tsgi-llhttp-sync', 'tsgi-uws-sync', 'pipelined-hello'],
  ['tsgi-llhttp-sync', 'uws-raw', 'hello'],
  ['tsgi-llhttp-sync', 'uws-raw', 'pipelined-hello'],
  ['tsgi-llhttp-async', 'tsgi-llhttp-sync', 'hello'],
  ['tsgi-llhttp-async', 'tsgi-llhttp-sync', 'pipelined-hello'],
  ['tsgi-llhttp-event', 'tsgi-llhttp-sync', 'hello'],
  ['tsgi-llhttp-event', 'tsgi-llhttp-sync', 'pipelined-hello'],
  ['tsgi-uws-sync', 'node-http', 'hello'],
  ['tsgi-uws-sync', 'uws-raw', 'hello'],
  ['tsgi-uws-sync', 'uws-raw', 'pipelined-hello'],
  ['tsgi-node', 'node-http', 'hello'],
  ['tsgi-node', 'node-http', 'pipelined-hello'],
  ['tsgi-llhttp-event', 'node-http', 'ws-echo'],
  ['tsgi-llhttp-event', 'uws-raw', 'ws-echo'],
  ['tsgi-uws-event', 'uws-raw', 'ws-echo'],
  ['tsgi-node-event', 'node-http', 'ws-echo'],
];

/**
 * [{ label, unit, rps, cpu, clientBound }]: throughput ratio (req/s, or messages/s for ws-echo)
 * and server-CPU-per-request (or per message) ratio, medians of per-round ratios from `records`.
 */
export function headlineRatios(summary, records) {
  const lines = [];
  for (const [server, reference, scenario] of HEADLINES) {
    const row = summary[scenario]?.[server];
    const refRow = summary[scenario]?.[reference];
    if (row === undefined || refRow === undefined || row.notApplicable || refRow.notApplicable) continue;
    const forScenario = records.filter((r) => r.scenario === scenario);
    const ws = forScenario.some((r) => r.messagesPerSecond !== undefined);
    const unit = ws ? 'msg' : 'req';
    const rps = pairedRatio(forScenario, server, reference, ws ? 'messagesPerSecond' : 'rps');
    const cpu = pairedRatio(forScenario, server, reference, ws ? 'serverCpuPerMessageMicros' : 'serverCpuPerRequestMicros');
    if (rps === null || rps === undefined) continue;
    lines.push({
      label: `${server} ÷ ${reference}, ${scenario}`,
      unit,
      rps,
      cpu,
      clientBound: row.clientBoundRounds > 0 || (refRow.clientBoundRounds ?? 0) > 0,
    });
  }
  return lines;
}

export function headlineText(lines) {
  return lines
    .map((l) => `${l.label.padEnd(44)} ${l.unit}/s ${l.rps.toFixed(2)}×   server µs/${l.unit} ${l.cpu === null ? '–' : l.cpu.toFixed(2) + '×'}${l.clientBound ? '   (client-bound rounds: see table)' : ''}`)
    .join('\n');
}
