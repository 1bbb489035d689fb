// The bar chart in RESULTS.md: for each throughput scenario, each server's req/s (ws-echo:
// echoed messages/s) as a ratio to node-http in the same run. Plain SVG text, so it needs no dependency and diffs readably.
import { BASELINE } from './servers.mjs';

const COLORS = {
  'tsgi-uws-sync': '#1f5fa8',
  'tsgi-uws-async': '#6f9fd8',
  'tsgi-uws-event': '#8e5ea2',
  'tsgi-node': '#e08a1e',
  'tsgi-node-event': '#c44e52',
  'uws-raw': '#3a9a4a',
  'node-http': '#9a9a9a',
};
const FALLBACK_COLORS = ['#55a868', '#64b5cd', '#b8860b', '#4c4c4c'];

const escapeXml = (text) => String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]);

/**
 * groups: [{ scenario, bars: [{ server, ratio, clientBound }] }] — one group per scenario.
 * Returns the SVG document as a string.
 */
export function ratioChart({ groups, title, subtitle }) {
  const servers = [...new Set(groups.flatMap((g) => g.bars.map((b) => b.server)))];
  const color = (server) => COLORS[server] ?? FALLBACK_COLORS[servers.indexOf(server) % FALLBACK_COLORS.length];
  const barHeight = 14;
  const barGap = 3;
  const groupGap = 14;
  const left = 150;
  const plotWidth = 560;
  const top = 96;
  const maxRatio = Math.max(1.5, ...groups.flatMap((g) => g.bars.map((b) => b.ratio ?? 0)));
  const axisMax = Math.ceil(maxRatio * 2) / 2; // a round number of half-steps
  const x = (value) => left + (value / axisMax) * plotWidth;
  const groupHeight = (g) => g.bars.length * (barHeight + barGap) - barGap;
  const plotHeight = groups.reduce((h, g) => h + groupHeight(g) + groupGap, 0);
  const width = left + plotWidth + 90;
  const height = top + plotHeight + 66;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="16" y="24" font-size="15" font-weight="bold">${escapeXml(title)}</text>`);
  out.push(`<text x="16" y="42" fill="#555">${escapeXml(subtitle)}</text>`);
  // Legend
  let legendX = 16;
  for (const server of servers) {
    out.push(`<rect x="${legendX}" y="54" width="12" height="12" fill="${color(server)}"/>`);
    out.push(`<text x="${legendX + 16}" y="64">${escapeXml(server)}</text>`);
    legendX += 28 + server.length * 7;
  }
  // Grid every half step, labelled below the plot
  for (let v = 0; v <= axisMax + 1e-9; v += 0.5) {
    out.push(`<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${top + plotHeight}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x(v)}" y="${top + plotHeight + 16}" text-anchor="middle" fill="#555">${v.toFixed(1)}×</text>`);
  }
  let y = top;
  for (const group of groups) {
    const h = groupHeight(group);
    out.push(`<text x="${left - 10}" y="${y + h / 2 + 4}" text-anchor="end" font-weight="bold">${escapeXml(group.scenario)}</text>`);
    for (const bar of group.bars) {
      if (bar.ratio !== null && bar.ratio !== undefined) {
        out.push(`<rect x="${left}" y="${y}" width="${Math.max(1, x(bar.ratio) - left).toFixed(1)}" height="${barHeight}" fill="${color(bar.server)}"><title>${escapeXml(`${group.scenario}, ${bar.server}: ${bar.ratio.toFixed(2)}× ${BASELINE}`)}</title></rect>`);
        out.push(`<text x="${x(bar.ratio) + 4}" y="${y + barHeight - 3}" fill="#333">${bar.ratio.toFixed(2)}×${bar.clientBound ? ' *' : ''}</text>`);
      } else {
        out.push(`<text x="${left + 4}" y="${y + barHeight - 3}" fill="#999">no data</text>`);
      }
      y += barHeight + barGap;
    }
    y += groupGap - barGap;
  }
  // node-http itself is the 1.0 line
  out.push(`<line x1="${x(1)}" y1="${top - 8}" x2="${x(1)}" y2="${top + plotHeight}" stroke="#444" stroke-dasharray="4 3"/>`);
  out.push(`<text x="${x(1) + 4}" y="${top - 10}" fill="#444">${escapeXml(BASELINE)} = 1.0</text>`);
  out.push(`<text x="16" y="${height - 26}" fill="#555">Each bar: the server's req/s (ws-echo: messages/s) ÷ ${escapeXml(BASELINE)}'s in the same round, median over rounds; longer is faster.</text>`);
  out.push(`<text x="16" y="${height - 10}" fill="#555">* client-bound in at least half the rounds: the load generator, not the server, was the limit.</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
