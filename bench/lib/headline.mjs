// The handful of ratios that say where tsgi stands: its overhead over Node's own http module and
// its distance from the raw uWebSockets.js ceiling, each measured within one run.
const HEADLINES = [
  ['tsgi-uws-sync', 'node-http', 'hello'],
  ['tsgi-uws-sync', 'node-http', 'pipelined-hello'],
  ['tsgi-uws-sync', 'uws-raw', 'hello'],
  ['tsgi-uws-sync', 'uws-raw', 'pipelined-hello'],
  ['tsgi-uws-async', 'uws-raw', 'pipelined-hello'],
  ['tsgi-node', 'node-http', 'hello'],
  ['tsgi-node', 'node-http', 'pipelined-hello'],
];

/** [{ label, rps, cpu, clientBound }]: req/s ratio and server-CPU-per-request ratio. */
export function headlineRatios(summary) {
  const lines = [];
  for (const [server, reference, scenario] of HEADLINES) {
    const row = summary[scenario]?.[server];
    if (row === undefined) continue;
    const rps = reference === 'node-http' ? row.rpsVsBaseline : row.rpsVsCeiling;
    const cpu = reference === 'node-http' ? row.cpuPerRequestVsBaseline : row.cpuPerRequestVsCeiling;
    const refRow = summary[scenario]?.[reference];
    if (rps === null || rps === undefined) continue;
    lines.push({
      label: `${server} ÷ ${reference}, ${scenario}`,
      rps,
      cpu,
      clientBound: row.clientBoundRounds > 0 || (refRow?.clientBoundRounds ?? 0) > 0,
    });
  }
  return lines;
}

export function headlineText(lines) {
  return lines
    .map((l) => `${l.label.padEnd(44)} req/s ${l.rps.toFixed(2)}×   server µs/req ${l.cpu === null ? '–' : l.cpu.toFixed(2) + '×'}${l.clientBound ? '   (client-bound rounds: see table)' : ''}`)
    .join('\n');
}
