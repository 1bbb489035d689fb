/**
 * The metrics of one server process, kept as plain numbers and typed arrays that the request path
 * updates directly (a few additions and one bucket scan per request, no labels to hash, no
 * allocation). prom-client sees them only at scrape time: every metric in `registry` is a small
 * object whose `get()` builds prom-client's sample shape from those numbers, so the
 * registry's `metrics()` and `getMetricsAsJSON()` (and the supervisor's aggregation of the latter)
 * work as for any prom-client metric.
 */

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Registry, type Aggregator, type Metric } from 'prom-client';

/** Every metric name starts with this, prom-client's process metrics included. */
export const METRIC_PREFIX = 'tsgi_';

/** Upper bounds, in seconds, of the request-duration histogram's buckets unless told otherwise. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** The `method` label's values: the methods counted by name, then `OTHER` for any other token. */
export const METHOD_LABELS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;

/** The `status_class` label's values, indexed by the status's first digit (`none`: status 0). */
export const STATUS_CLASS_LABELS = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'] as const;

const CLASS_COUNT = STATUS_CLASS_LABELS.length;

/**
 * How often the event-loop monitor samples, in milliseconds. Each sample records the time since the
 * previous one, so an idle loop records about this much: it is subtracted to leave the lag.
 */
const LOOP_RESOLUTION_MS = 10;
const LOOP_RESOLUTION_NS = LOOP_RESOLUTION_MS * 1e6;

/** The index of a method in METHOD_LABELS; anything not in the fixed set is OTHER. */
function methodIndex(method: string): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    case 'CONNECT':
      return 7;
    case 'TRACE':
      return 8;
    default:
      return 9;
  }
}

/** One sample as prom-client's registry reads it (`metricName` for a histogram's series). */
export interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** What `get()` resolves to: the shape prom-client's own metrics return. */
export interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  aggregator: Aggregator;
  values: Sample[];
}

/**
 * A metric whose samples are read from elsewhere when the registry asks for them. It has what
 * prom-client's Registry uses of a metric (name, type, get(), reset()) and nothing to update.
 */
class ScrapedMetric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricSnapshot['type'],
    readonly aggregator: Aggregator,
    private readonly read: () => Sample[],
  ) {}

  get(): Promise<MetricSnapshot> {
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.read(),
    });
  }

  /** Registry.resetMetrics() calls this; the numbers belong to ServerMetrics, which never resets. */
  reset(): void {}
}

function checkBuckets(buckets: readonly number[]): number[] {
  const out = [...buckets];
  if (out.length === 0) throw new Error('metrics: the duration histogram needs at least one bucket');
  for (let i = 0; i < out.length; i++) {
    const bound = out[i];
    if (!Number.isFinite(bound) || bound <= 0) {
      throw new Error(`metrics: a duration bucket must be a positive number of seconds; got ${bound}`);
    }
    if (i > 0 && bound <= out[i - 1]) {
      throw new Error(`metrics: duration buckets must increase; got ${out[i - 1]} then ${bound}`);
    }
  }
  return out;
}

export class ServerMetrics {
  /** `tsgi_*` metrics read from this object at scrape time, plus prom-client's process metrics. */
  readonly registry: Registry;

  // The hot path writes only these. Counts are float64: exact up to 2^53.
  private inFlight = 0;
  private connections = 0;
  private webSocketsOpen = 0;
  private webSocketsTotal = 0;
  private bytesInTotal = 0;
  private bytesOutTotal = 0;
  /** Responses by method × status class: index method * CLASS_COUNT + class. */
  private readonly requests = new Float64Array(METHOD_LABELS.length * CLASS_COUNT);
  private readonly bounds: Float64Array;
  /** Per-bucket (not cumulative) duration counts; the last slot is above the highest bound. */
  private readonly durationCounts: Float64Array;
  private durationSum = 0;

  private loopDelay: IntervalHistogram | null = null;
  private loopLag = 0;

  /**
   * `countsConnections: false` leaves out `connections_open` (a backend that cannot see its
   * connections open and close: uWS), rather than report a gauge stuck at 0.
   */
  constructor(options: { buckets?: readonly number[]; countsConnections?: boolean } = {}) {
    const bounds = checkBuckets(options.buckets ?? DEFAULT_DURATION_BUCKETS);
    this.bounds = Float64Array.from(bounds);
    this.durationCounts = new Float64Array(bounds.length + 1);

    const registry = new Registry();
    this.registry = registry;
    const add = (name: string, help: string, type: MetricSnapshot['type'], aggregator: Aggregator, read: () => Sample[]): void => {
      // ScrapedMetric has every member Registry touches; prom-client's typings only list its own classes.
      registry.registerMetric(new ScrapedMetric(METRIC_PREFIX + name, help, type, aggregator, read) as unknown as Metric);
    };
    const one = (value: number): Sample[] => [{ value, labels: {} }];

    add('http_requests_total', 'HTTP responses ended (status_class "none": the exchange was abandoned before a response).', 'counter', 'sum', () => this.requestSamples());
    add('http_request_duration_seconds', 'Time from the start of a request to the end of its response (or its abandonment).', 'histogram', 'sum', () => this.durationSamples());
    add('http_requests_in_flight', 'Requests started and not yet ended.', 'gauge', 'sum', () => one(this.inFlight));
    if (options.countsConnections !== false) add('connections_open', 'Client connections open.', 'gauge', 'sum', () => one(this.connections));
    add('http_request_bytes_total', 'Request bytes received.', 'counter', 'sum', () => one(this.bytesInTotal));
    add('http_response_bytes_total', 'Response bytes sent.', 'counter', 'sum', () => one(this.bytesOutTotal));
    add('websocket_sessions_open', 'Websocket sessions open.', 'gauge', 'sum', () => one(this.webSocketsOpen));
    add('websocket_sessions_total', 'Websocket sessions opened.', 'counter', 'sum', () => one(this.webSocketsTotal));
    add(
      'event_loop_lag_seconds',
      `99th percentile of the event loop's delay since the previous scrape (sampled every ${LOOP_RESOLUTION_MS} ms; 0 until the monitor starts).`,
      'gauge',
      'max',
      () => one(this.readLoopLag()),
    );

    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  }

  // --- the hot path ---------------------------------------------------------------------------

  /** A request began: in-flight +1. */
  requestStarted(): void {
    this.inFlight++;
  }

  /**
   * One response ended (or the exchange was abandoned: status 0). `method` as sent; a method outside
   * GET HEAD POST PUT DELETE PATCH OPTIONS CONNECT TRACE (case-sensitive) counts as OTHER. A status
   * outside 100–599 counts as `none`. In-flight −1.
   */
  requestEnded(method: string, status: number, durationSeconds: number, bytesOut: number): void {
    this.inFlight--;
    const cls = (status / 100) | 0;
    this.requests[methodIndex(method) * CLASS_COUNT + (cls >= 1 && cls <= 5 ? cls : 0)]++;
    const d = durationSeconds >= 0 ? durationSeconds : 0; // also NaN → 0, so the sum stays a number
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && d > bounds[i]) i++;
    this.durationCounts[i]++;
    this.durationSum += d;
    if (bytesOut > 0) this.bytesOutTotal += bytesOut;
  }

  bytesIn(count: number): void {
    if (count > 0) this.bytesInTotal += count;
  }

  connectionOpened(): void {
    this.connections++;
  }

  connectionClosed(): void {
    this.connections--;
  }

  webSocketOpened(): void {
    this.webSocketsOpen++;
    this.webSocketsTotal++;
  }

  webSocketClosed(): void {
    this.webSocketsOpen--;
  }

  // --- the event-loop monitor -----------------------------------------------------------------

  /** Starts the event-loop monitor behind `tsgi_event_loop_lag_seconds` (idempotent). */
  start(): void {
    if (this.loopDelay !== null) return;
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
  }

  /** Stops it; the gauge keeps its last value. prom-client's own collectors are not affected. */
  stop(): void {
    if (this.loopDelay === null) return;
    this.loopDelay.disable();
    this.loopDelay = null;
  }

  // --- scrape time ----------------------------------------------------------------------------

  private requestSamples(): Sample[] {
    const out: Sample[] = [];
    const counts = this.requests;
    for (let i = 0; i < counts.length; i++) {
      const value = counts[i];
      if (value === 0) continue;
      out.push({
        value,
        labels: { method: METHOD_LABELS[(i / CLASS_COUNT) | 0], status_class: STATUS_CLASS_LABELS[i % CLASS_COUNT] },
      });
    }
    return out;
  }

  private durationSamples(): Sample[] {
    const name = METRIC_PREFIX + 'http_request_duration_seconds';
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.durationCounts[i];
      out.push({ value: cumulative, labels: { le: this.bounds[i] }, metricName: `${name}_bucket` });
    }
    cumulative += this.durationCounts[this.bounds.length];
    out.push({ value: cumulative, labels: { le: '+Inf' }, metricName: `${name}_bucket` });
    out.push({ value: this.durationSum, labels: {}, metricName: `${name}_sum` });
    out.push({ value: cumulative, labels: {}, metricName: `${name}_count` });
    return out;
  }

  /** p99 of the delays recorded since the last read, less the sampling interval; then starts afresh. */
  private readLoopLag(): number {
    const h = this.loopDelay;
    if (h !== null && h.count > 0) {
      this.loopLag = Math.max(0, h.percentile(99) - LOOP_RESOLUTION_NS) / 1e9;
      h.reset();
    }
    return this.loopLag;
  }
}
