// From raw rounds to one row per server and scenario: medians over rounds, and ratios to the
// baseline (node-http) and ceiling (uws-raw). A ratio is taken within each round, between runs
// that were minutes apart at most, and the median of those is reported: drift on a shared
// machine (another tenant, thermal limits) then cancels instead of landing on one server.
import { BASELINE, CEILING } from './servers.mjs';

export function median(values) {
  const sorted = values.filter((v) => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Median over rounds of this server's value ÷ the reference server's value in the same round. */
function pairedRatio(records, server, reference, field) {
  if (server === reference) return 1;
  const byRound = new Map(records.filter((r) => r.server === reference && !r.error).map((r) => [r.round, r[field]]));
  const ratios = records
    .filter((r) => r.server === server && !r.error && byRound.has(r.round))
    .map((r) => r[field] / byRound.get(r.round));
  return median(ratios);
}

/** What each kind of scenario reports: the fields to take medians of, and what a ratio compares. */
const KINDS = {
  load: {
    medians: ['rps', 'p50Ms', 'p99Ms', 'serverCpuPerRequestMicros', 'serverCpuPercent', 'peakRssBytes', 'clientCpuPercent', 'otherCpuPercent', 'stealPercent', 'bytesPerSecond'],
    ratios: { rpsVsBaseline: ['rps', BASELINE], rpsVsCeiling: ['rps', CEILING], cpuPerRequestVsBaseline: ['serverCpuPerRequestMicros', BASELINE], cpuPerRequestVsCeiling: ['serverCpuPerRequestMicros', CEILING] },
  },
  slow: {
    medians: ['peakRssBytes', 'growthBytes', 'rssBeforeBytes', 'seconds', 'bytesPerSecond', 'serverCpuMicros'],
    ratios: { peakRssVsBaseline: ['peakRssBytes', BASELINE], peakRssVsCeiling: ['peakRssBytes', CEILING] },
  },
  idle: {
    medians: ['rssIdleBytes', 'rssBeforeBytes', 'bytesPerConnection', 'openAtSample', 'openingSeconds'],
    ratios: { rssIdleVsBaseline: ['rssIdleBytes', BASELINE], rssIdleVsCeiling: ['rssIdleBytes', CEILING] },
  },
};

/** summary[scenario][server] = { medians…, ratios…, rounds, failedRounds, clientBoundRounds, … } */
export function summarize(records, scenarios, servers) {
  const summary = {};
  for (const scenario of scenarios) {
    const kind = KINDS[scenario.kind];
    const forScenario = records.filter((r) => r.scenario === scenario.name);
    const rows = {};
    for (const { name } of servers) {
      const mine = forScenario.filter((r) => r.server === name);
      const ok = mine.filter((r) => !r.error);
      const row = { rounds: mine.length, okRounds: ok.length, failedRounds: mine.length - ok.length, errors: mine.filter((r) => r.error).map((r) => r.error) };
      for (const field of kind.medians) row[field] = median(ok.map((r) => r[field]));
      for (const [key, [field, reference]] of Object.entries(kind.ratios)) {
        row[key] = servers.some((s) => s.name === reference) ? pairedRatio(forScenario, name, reference, field) : null;
      }
      if (scenario.kind === 'load') {
        row.clientBoundRounds = ok.filter((r) => r.clientBound).length;
        row.noisyRounds = ok.filter((r) => r.noisy).length;
        row.requestErrors = ok.reduce((sum, r) => sum + (r.errors ?? 0) + (r.timeouts ?? 0) + (r.non2xx ?? 0), 0);
      }
      if (scenario.kind === 'idle') {
        row.requested = ok[0]?.requested ?? null;
        row.minOpenAtSample = ok.length ? Math.min(...ok.map((r) => r.openAtSample)) : null;
      }
      rows[name] = row;
    }
    summary[scenario.name] = rows;
  }
  return summary;
}
