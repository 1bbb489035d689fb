/**
 * The supervisor's side of --metrics-bind: it serves /metrics and /healthz itself, and a scrape
 * asks every serving worker for its registry over IPC, then sums them (metrics/aggregate.ts) with
 * the supervisor's own counters (worker restarts, workers). A worker that does not answer within
 * a second is left out of that scrape; a worker that is gone keeps its counts in the totals (as of
 * the last scrape it answered), so counters never go backwards when workers are replaced.
 */
import { Registry } from 'prom-client';
import { aggregateMetrics, retireWorker, supervisorRegistry, type RegistryJSON, type RestartReason } from '../metrics/aggregate.js';
import { listenForMetrics, type MetricsEndpoint } from '../metrics/endpoint.js';
import type { ToWorker } from './protocol.js';

/** How long a scrape waits for each worker. */
const WORKER_ANSWER_MS = 1000;

export interface MetricsWorker {
  readonly pid: number;
  send(message: ToWorker): void;
}

export class MetricsHub {
  private readonly own = supervisorRegistry();
  /** Counters and histograms of workers that are gone. */
  private retired: RegistryJSON = [];
  /** Each live worker's latest answer. */
  private readonly latest = new Map<number, RegistryJSON>();
  private readonly waiting = new Map<number, (json: RegistryJSON | null) => void>();
  private nextId = 1;
  private endpoint: MetricsEndpoint | null = null;

  constructor(
    private readonly serving: () => readonly MetricsWorker[],
    private readonly healthy: () => boolean,
  ) {}

  /** Listens on `bind`; resolves the line that says where. */
  async start(bind: string): Promise<string> {
    this.endpoint = await listenForMetrics(bind, {
      metrics: () => this.scrape(),
      contentType: Registry.PROMETHEUS_CONTENT_TYPE,
      healthy: this.healthy,
    });
    return this.endpoint.description;
  }

  /** A worker's answer to a `metrics` request. */
  answered(id: number, json: RegistryJSON): void {
    this.waiting.get(id)?.(json);
  }

  /** A worker exited: what it last reported stays in the totals. */
  async workerGone(pid: number): Promise<void> {
    const last = this.latest.get(pid);
    this.latest.delete(pid);
    if (last !== undefined) this.retired = await retireWorker(this.retired, last);
  }

  workerRestarted(reason: RestartReason): void {
    this.own.workerRestarted(reason);
  }

  setWorkers(count: number): void {
    this.own.setWorkers(count);
  }

  async close(): Promise<void> {
    for (const resolve of this.waiting.values()) resolve(null);
    await this.endpoint?.close();
  }

  private async scrape(): Promise<string> {
    const answers = await Promise.all(this.serving().map((worker) => this.ask(worker)));
    const live = answers.filter((json): json is RegistryJSON => json !== null);
    return aggregateMetrics(this.retired.length === 0 ? live : [...live, this.retired], this.own.registry);
  }

  private ask(worker: MetricsWorker): Promise<RegistryJSON | null> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), WORKER_ANSWER_MS);
      const done = (json: RegistryJSON | null): void => {
        clearTimeout(timer);
        this.waiting.delete(id);
        if (json !== null) this.latest.set(worker.pid, json);
        resolve(json);
      };
      this.waiting.set(id, done);
      worker.send({ type: 'metrics', id });
    });
  }
}
