/**
 * The supervisor's side of the metrics: the workers' registries, fetched as JSON over IPC, summed
 * into one exposition, plus the supervisor's own counters.
 *
 * How each metric combines is its `aggregator`, carried in the JSON: `sum` for every tsgi counter,
 * histogram and gauge except `tsgi_event_loop_lag_seconds` (`max`: the worst worker); prom-client's
 * process metrics bring their own (CPU and memory summed, start time omitted, version first, its
 * event-loop gauges averaged or min/max).
 */

import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { METRIC_PREFIX } from './server-metrics.js';

/** One registry's `getMetricsAsJSON()`, as a worker sends it over IPC. */
export type RegistryJSON = MetricObjectWithValues<MetricValue<string>>[];

/** Why the supervisor replaced a worker: the values of `tsgi_worker_restarts_total`'s `reason`. */
export const RESTART_REASONS = ['crash', 'timeout', 'max_requests', 'reload'] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

/**
 * The Prometheus text of every worker's metrics combined (see the module comment) followed by the
 * supervisor's own. The supervisor's metrics go through the same aggregation as one more source, so
 * a name present on both sides yields one metric, never a duplicate `# TYPE` line.
 */
export async function aggregateMetrics(perWorker: readonly RegistryJSON[], supervisor: Registry): Promise<string> {
  const own = await supervisor.getMetricsAsJSON();
  return AggregatorRegistry.aggregate([...perWorker, own]).metrics();
}

/**
 * Keeps counters monotonic across worker restarts. A replaced worker's counters would otherwise
 * vanish from the sum, which Prometheus reads as a counter reset (and `rate()` as a burst). Give
 * this the previous retired totals (or `[]`) and the departed worker's last JSON, and pass the
 * result to `aggregateMetrics` with the live workers: its counters and histograms (the cumulative
 * metrics) are added in; its gauges are dropped. Counts made after that JSON was taken are lost.
 */
export async function retireWorker(retired: RegistryJSON, last: RegistryJSON): Promise<RegistryJSON> {
  const cumulative = last.filter((metric) => {
    const type = metric.type as unknown as string; // the JSON carries prom-client's type strings
    return type === 'counter' || type === 'histogram';
  });
  return AggregatorRegistry.aggregate([retired, cumulative]).getMetricsAsJSON();
}

/** The supervisor's registry: `tsgi_worker_restarts_total{reason}` and `tsgi_workers`. */
export function supervisorRegistry(): {
  registry: Registry;
  workerRestarted(reason: RestartReason): void;
  setWorkers(n: number): void;
} {
  const registry = new Registry();
  const restarts = new Counter({
    name: `${METRIC_PREFIX}worker_restarts_total`,
    help: 'Workers replaced by the supervisor, by reason: crash, timeout, max_requests or reload.',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of RESTART_REASONS) restarts.inc({ reason }, 0);
  const workers = new Gauge({
    name: `${METRIC_PREFIX}workers`,
    help: 'Worker processes running.',
    registers: [registry],
  });
  return {
    registry,
    workerRestarted(reason: RestartReason): void {
      restarts.inc({ reason });
    },
    setWorkers(n: number): void {
      workers.set(n);
    },
  };
}
