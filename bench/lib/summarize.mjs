// From raw rounds to one row per server and scenario: medians over rounds, and ratios to the
// baseline (node-http) and ceiling (uws-raw); for ws-echo those are ws on node:http and uWS's
// own websockets. A ratio is taken within each round, between runs
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
export function pairedRatio(records, server, reference, field) {
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
  ws: {
    medians: ['messagesPerSecond', 'p50Ms', 'p99Ms', 'serverCpuPerMessageMicros', 'serverCpuPercent', 'peakRssBytes', 'clientCpuPercent', 'clientBusiestPercent', 'otherCpuPercent', 'stealPercent'],
    ratios: {
      mpsVsBaseline: ['messagesPerSecond', BASELINE], mpsVsCeiling: ['messagesPerSecond', CEILING],
      cpuPerMessageVsBaseline: ['serverCpuPerMessageMicros', BASELINE], cpuPerMessageVsCeiling: ['serverCpuPerMessageMicros', CEILING],
    },
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

/**
 * summary[scenario][server] = { medians…, ratios…, rounds, failedRounds, clientBoundRounds, … }.
 * `serversOf(scenario)` lists the scenario's servers as [{ name, notApplicable }]: a server that
 * cannot run the scenario gets a row that only says why (notApplicable), and is no reference.
 */
export function summarize(records, scenarios, serversOf) {
  const summary = {};
  for (const scenario of scenarios) {
    const kind = KINDS[scenario.kind];
    const forScenario = records.filter((r) => r.scenario === scenario.name);
    const rows = {};
    const servers = serversOf(scenario);
    const references = new Set(servers.filter((s) => !s.notApplicable).map((s) => s.name));
    for (const { name, notApplicable } of servers) {
      if (notApplicable) {
        rows[name] = { notApplicable, rounds: 0, okRounds: 0, failedRounds: 0, errors: [] };
        continue;
      }
      const mine = forScenario.filter((r) => r.server === name);
      const ok = mine.filter((r) => !r.error);
      const row = { rounds: mine.length, okRounds: ok.length, failedRounds: mine.length - ok.length, errors: mine.filter((r) => r.error).map((r) => r.error) };
      for (const field of kind.medians) row[field] = median(ok.map((r) => r[field]));
      for (const [key, [field, reference]] of Object.entries(kind.ratios)) {
        row[key] = references.has(reference) ? pairedRatio(forScenario, name, reference, field) : null;
      }
      if (scenario.kind === 'load' || scenario.kind === 'ws') {
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
