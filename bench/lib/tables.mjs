// One table per scenario, as data (title, column headers, rows of strings), rendered either for
// the terminal (aligned plain text) or for RESULTS.md (Markdown).
import { count, fixed, kib, mib, mibPerSecond, ms, percent, ratio } from './format.mjs';
import { BASELINE, CEILING } from './servers.mjs';

function flags(row, kind) {
  if (row.notApplicable) return row.notApplicable;
  const notes = [];
  if (row.failedRounds > 0) notes.push(`failed ${row.failedRounds}/${row.rounds}`);
  if (row.clientBoundRounds > 0) notes.push(`client-bound ${row.clientBoundRounds}/${row.okRounds}`);
  if (row.noisyRounds > 0) notes.push(`noisy ${row.noisyRounds}/${row.okRounds}`);
  if (row.requestErrors > 0) notes.push(`${count(row.requestErrors)} ${kind === 'ws' ? 'message' : 'request'} errors`);
  return notes.join(', ');
}

const COLUMNS = {
  load: [
    ['server', (name) => name],
    ['req/s', (_, r) => count(r.rps)],
    ['p50 ms', (_, r) => ms(r.p50Ms)],
    ['p99 ms', (_, r) => ms(r.p99Ms)],
    ['MiB/s', (_, r) => mibPerSecond(r.bytesPerSecond)],
    ['server µs/req', (_, r) => fixed(r.serverCpuPerRequestMicros)],
    ['peak RSS', (_, r) => mib(r.peakRssBytes)],
    ['client CPU', (_, r) => percent(r.clientCpuPercent)],
    ['other CPU', (_, r) => percent(r.otherCpuPercent)],
    [`req/s ÷ ${BASELINE}`, (_, r) => ratio(r.rpsVsBaseline)],
    [`req/s ÷ ${CEILING}`, (_, r) => ratio(r.rpsVsCeiling)],
    [`µs/req ÷ ${BASELINE}`, (_, r) => ratio(r.cpuPerRequestVsBaseline)],
    [`µs/req ÷ ${CEILING}`, (_, r) => ratio(r.cpuPerRequestVsCeiling)],
    ['flags', (_, r) => flags(r, 'load')],
  ],
  ws: [
    ['server', (name) => name],
    ['msg/s', (_, r) => count(r.messagesPerSecond)],
    ['p50 ms', (_, r) => ms(r.p50Ms)],
    ['p99 ms', (_, r) => ms(r.p99Ms)],
    ['server µs/msg', (_, r) => fixed(r.serverCpuPerMessageMicros)],
    ['peak RSS', (_, r) => mib(r.peakRssBytes)],
    ['client CPU', (_, r) => percent(r.clientCpuPercent)],
    ['other CPU', (_, r) => percent(r.otherCpuPercent)],
    [`msg/s ÷ ${BASELINE}`, (_, r) => ratio(r.mpsVsBaseline)],
    [`msg/s ÷ ${CEILING}`, (_, r) => ratio(r.mpsVsCeiling)],
    [`µs/msg ÷ ${BASELINE}`, (_, r) => ratio(r.cpuPerMessageVsBaseline)],
    [`µs/msg ÷ ${CEILING}`, (_, r) => ratio(r.cpuPerMessageVsCeiling)],
    ['flags', (_, r) => flags(r, 'ws')],
  ],
  slow: [
    ['server', (name) => name],
    ['peak RSS', (_, r) => mib(r.peakRssBytes)],
    ['RSS before', (_, r) => mib(r.rssBeforeBytes)],
    ['growth', (_, r) => mib(r.growthBytes)],
    ['seconds', (_, r) => fixed(r.seconds, 1)],
    ['MiB/s', (_, r) => mibPerSecond(r.bytesPerSecond)],
    ['server CPU ms', (_, r) => count(r.serverCpuMicros / 1000)],
    [`peak RSS ÷ ${BASELINE}`, (_, r) => ratio(r.peakRssVsBaseline)],
    ['flags', (_, r) => flags(r, 'memory')],
  ],
  idle: [
    ['server', (name) => name],
    ['open / asked', (_, r) => `${count(r.minOpenAtSample)} / ${count(r.requested)}`],
    ['RSS idle', (_, r) => mib(r.rssIdleBytes)],
    ['RSS before', (_, r) => mib(r.rssBeforeBytes)],
    ['per connection', (_, r) => kib(r.bytesPerConnection)],
    ['opening s', (_, r) => fixed(r.openingSeconds, 1)],
    [`RSS ÷ ${BASELINE}`, (_, r) => ratio(r.rssIdleVsBaseline)],
    ['flags', (_, r) => flags(r, 'memory')],
  ],
};

export function describeScenario(scenario, settings) {
  if (scenario.kind === 'slow') return `${scenario.method} ${scenario.path}: 100 MiB read in bursts (one read, ${scenario.pauseMs} ms pause); memory is the result`;
  if (scenario.kind === 'ws') {
    return `${scenario.messageBytes}-byte text messages echoed on ${scenario.path}, ${settings.connections} websockets, ` +
      `${scenario.depth} in flight on each; client: the ws package in ${scenario.clientProcesses} processes (client CPU is their sum)`;
  }
  if (scenario.kind === 'idle') return `${scenario.idleConnections.toLocaleString('en-US')} keep-alive connections, one GET /hello each, then idle; server RSS sampled after 1.5 s of quiet`;
  const pipelining = scenario.pipelining ? `, pipelining ${scenario.pipelining}` : '';
  const body = scenario.body ? `, ${scenario.body.length}-byte body` : '';
  const headers = scenario.headers && Object.keys(scenario.headers).length > 1 ? `, ${Object.keys(scenario.headers).length} extra headers` : '';
  return `${scenario.method} ${scenario.path}${body}${headers}, ${settings.connections} connections${pipelining}`;
}

export function buildTable(scenario, rows, settings) {
  const columns = COLUMNS[scenario.kind];
  return {
    title: scenario.name,
    subtitle: describeScenario(scenario, settings),
    headers: columns.map(([header]) => header),
    rows: Object.entries(rows).map(([name, row]) => columns.map(([, cell]) => cell(name, row))),
    numeric: columns.map(([header]) => !['server', 'flags'].includes(header)),
  };
}

/** Aligned plain text: numbers right-aligned, names and flags left-aligned. */
export function renderText(table) {
  const widths = table.headers.map((header, i) => Math.max(header.length, ...table.rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((cell, i) => (table.numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd();
  return [`${table.title} — ${table.subtitle}`, line(table.headers), line(widths.map((w) => '-'.repeat(w))), ...table.rows.map(line)].join('\n');
}

export function renderMarkdown(table) {
  const escape = (cell) => cell.replace(/\|/g, '\\|');
  const row = (cells) => `| ${cells.map(escape).join(' | ')} |`;
  return [
    `### ${table.title}`,
    '',
    table.subtitle,
    '',
    row(table.headers),
    `|${table.numeric.map((n) => (n ? '---:' : '---')).join('|')}|`,
    ...table.rows.map(row),
  ].join('\n');
}
