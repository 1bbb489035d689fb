import { afterEach, describe, expect, it } from 'vitest';
import { aggregateMetrics, retireWorker, supervisorRegistry, type RegistryJSON } from '../src/metrics/aggregate.js';
import { parseMetricsBind, startMetricsEndpoint, type MetricsEndpoint } from '../src/metrics/endpoint.js';
import { ServerMetrics } from '../src/metrics/server-metrics.js';

/** Exposition text → value by series, keyed `name{a="x",b="y"}` with the labels sorted. */
function parseExposition(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    const key = labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1]!;
    const raw = match[3]!;
    series.set(key, raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw));
  }
  return series;
}

function typeLines(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('# TYPE '));
}

/** Blocks the event loop, so the lag monitor records a long delay. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A request pair as a server would report it. */
function request(metrics: ServerMetrics, method: string, status: number, seconds: number, bytesOut: number): void {
  metrics.requestStarted();
  metrics.requestEnded(method, status, seconds, bytesOut);
}

const endpoints: MetricsEndpoint[] = [];
const servers: ServerMetrics[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((endpoint) => endpoint.close()));
  for (const metrics of servers.splice(0)) metrics.stop();
});

function newMetrics(options?: { buckets?: readonly number[] }): ServerMetrics {
  const metrics = new ServerMetrics(options);
  servers.push(metrics);
  return metrics;
}

async function serveMetrics(metrics: ServerMetrics, healthy: () => boolean = () => true): Promise<string> {
  const endpoint = await startMetricsEndpoint('127.0.0.1', 0, {
    metrics: () => metrics.registry.metrics(),
    contentType: metrics.registry.contentType,
    healthy,
  });
  endpoints.push(endpoint);
  return `http://127.0.0.1:${endpoint.port}`;
}

describe('ServerMetrics scraped through the endpoint', () => {
  it('exposes counters, the duration histogram and gauges', async () => {
    const metrics = newMetrics();
    request(metrics, 'GET', 200, 0.003, 100);
    request(metrics, 'GET', 404, 0.0005, 10);
    request(metrics, 'POST', 201, 0.2, 0);
    request(metrics, 'PROPFIND', 207, 20, 50); // not in the fixed set: OTHER; above every bucket
    request(metrics, 'get', 0, 0.05, 0); // methods are case-sensitive; status 0: abandoned
    metrics.requestStarted(); // still in flight
    metrics.bytesIn(123);
    metrics.bytesIn(7);
    metrics.connectionOpened();
    metrics.connectionOpened();
    metrics.connectionClosed();
    metrics.webSocketOpened();
    metrics.webSocketOpened();
    metrics.webSocketClosed();

    const base = await serveMetrics(metrics);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const series = parseExposition(text);

    expect(series.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(1);
    expect(series.get('tsgi_http_requests_total{method="GET",status_class="4xx"}')).toBe(1);
    expect(series.get('tsgi_http_requests_total{method="POST",status_class="2xx"}')).toBe(1);
    expect(series.get('tsgi_http_requests_total{method="OTHER",status_class="2xx"}')).toBe(1);
    expect(series.get('tsgi_http_requests_total{method="OTHER",status_class="none"}')).toBe(1);
    expect(series.has('tsgi_http_requests_total{method="HEAD",status_class="2xx"}')).toBe(false);

    const bucket = (le: string) => series.get(`tsgi_http_request_duration_seconds_bucket{le="${le}"}`);
    expect(bucket('0.001')).toBe(1);
    expect(bucket('0.0025')).toBe(1);
    expect(bucket('0.005')).toBe(2);
    expect(bucket('0.05')).toBe(3); // upper bounds are inclusive
    expect(bucket('0.1')).toBe(3);
    expect(bucket('0.25')).toBe(4);
    expect(bucket('10')).toBe(4);
    expect(bucket('+Inf')).toBe(5);
    expect(series.get('tsgi_http_request_duration_seconds_count')).toBe(5);
    expect(series.get('tsgi_http_request_duration_seconds_sum')).toBeCloseTo(20.2535, 9);

    expect(series.get('tsgi_http_requests_in_flight')).toBe(1);
    expect(series.get('tsgi_connections_open')).toBe(1);
    expect(series.get('tsgi_http_request_bytes_total')).toBe(130);
    expect(series.get('tsgi_http_response_bytes_total')).toBe(160);
    expect(series.get('tsgi_websocket_sessions_open')).toBe(1);
    expect(series.get('tsgi_websocket_sessions_total')).toBe(2);
    expect(series.get('tsgi_event_loop_lag_seconds')).toBe(0); // not started

    const types = typeLines(text);
    expect(types).toContain('# TYPE tsgi_http_requests_total counter');
    expect(types).toContain('# TYPE tsgi_http_request_duration_seconds histogram');
    expect(types).toContain('# TYPE tsgi_http_requests_in_flight gauge');
    expect(types).toContain('# TYPE tsgi_event_loop_lag_seconds gauge');
    // prom-client's process metrics, with the same prefix
    expect(types).toContain('# TYPE tsgi_process_cpu_user_seconds_total counter');
    expect(series.has('tsgi_process_resident_memory_bytes')).toBe(true);
    expect(new Set(types).size).toBe(types.length);
  });

  it('takes other duration buckets', async () => {
    const metrics = newMetrics({ buckets: [0.5, 2] });
    request(metrics, 'GET', 200, 1, 0);
    const series = parseExposition(await metrics.registry.metrics());
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="0.5"}')).toBe(0);
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="2"}')).toBe(1);
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(1);
    expect(() => new ServerMetrics({ buckets: [1, 0.5] })).toThrow(/increase/);
    expect(() => new ServerMetrics({ buckets: [] })).toThrow(/at least one/);
  });

  it('reports the event loop lag while started', async () => {
    const metrics = newMetrics();
    metrics.start();
    await sleep(40);
    blockFor(80);
    await sleep(30);
    const lag = parseExposition(await metrics.registry.metrics()).get('tsgi_event_loop_lag_seconds')!;
    expect(lag).toBeGreaterThan(0.03);
    metrics.stop();
    await sleep(20);
    // stopped: the last value stays
    expect(parseExposition(await metrics.registry.metrics()).get('tsgi_event_loop_lag_seconds')).toBe(lag);
  });

  it('answers HEAD /metrics with the headers and no body', async () => {
    const metrics = newMetrics();
    const base = await serveMetrics(metrics);
    const response = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(metrics.registry.contentType);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await response.text()).toBe('');
  });

  it('answers 500 when the metrics cannot be read', async () => {
    const endpoint = await startMetricsEndpoint('127.0.0.1', 0, {
      metrics: () => Promise.reject(new Error('worker 3 did not answer')),
      contentType: 'text/plain',
      healthy: () => true,
    });
    endpoints.push(endpoint);
    const response = await fetch(`http://127.0.0.1:${endpoint.port}/metrics`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('metrics unavailable: worker 3 did not answer\n');
  });
});

describe('the metrics endpoint', () => {
  it('answers /healthz 200 while healthy, then 503', async () => {
    let healthy = true;
    const base = await serveMetrics(newMetrics(), () => healthy);
    let response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('ok\n');
    response = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('');
    healthy = false;
    response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe('draining\n');
  });

  it('answers 404 elsewhere and 405 with Allow for other methods', async () => {
    const base = await serveMetrics(newMetrics());
    for (const path of ['/', '/metricsx', '/healthz/', '/favicon.ico']) {
      const response = await fetch(base + path);
      expect(response.status, path).toBe(404);
      await response.arrayBuffer();
    }
    expect((await fetch(`${base}/metrics?name=x`)).status).toBe(200);
    for (const [method, path] of [
      ['POST', '/metrics'],
      ['PUT', '/healthz'],
      ['DELETE', '/metrics'],
    ] as const) {
      const response = await fetch(base + path, { method });
      expect(response.status, `${method} ${path}`).toBe(405);
      expect(response.headers.get('allow')).toBe('GET, HEAD');
      await response.arrayBuffer();
    }
  });

  it('rejects naming host:port when it cannot listen', async () => {
    const base = await serveMetrics(newMetrics());
    const port = Number(new URL(base).port);
    const source = { metrics: async () => '', contentType: 'text/plain', healthy: () => true };
    await expect(startMetricsEndpoint('127.0.0.1', port, source)).rejects.toThrow(
      `cannot listen for metrics on 127.0.0.1:${port}: listen EADDRINUSE`,
    );
    await expect(startMetricsEndpoint('127.0.0.1', 70000, source)).rejects.toThrow('cannot listen for metrics on 127.0.0.1:70000');
  });

  it('closes, idle keep-alive connections included', async () => {
    const endpoint = await startMetricsEndpoint('127.0.0.1', 0, {
      metrics: async () => 'x 1\n',
      contentType: 'text/plain',
      healthy: () => true,
    });
    const url = `http://127.0.0.1:${endpoint.port}/metrics`;
    expect(await (await fetch(url)).text()).toBe('x 1\n');
    await endpoint.close();
    await endpoint.close(); // twice is fine
    await expect(fetch(url)).rejects.toThrow();
  });

  it('parses --metrics-bind', () => {
    expect(parseMetricsBind('0.0.0.0:9100')).toEqual({ host: '0.0.0.0', port: 9100 });
    expect(parseMetricsBind('localhost:9100')).toEqual({ host: 'localhost', port: 9100 });
    expect(parseMetricsBind(':9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseMetricsBind('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(parseMetricsBind('[::]:0')).toEqual({ host: '::', port: 0 });
    for (const bad of ['9100', 'localhost', '::1:9100', '[::1]', '[localhost]:9100', 'host:', 'host:http', 'host:65536', ':-1', 'a b:1', '']) {
      expect(() => parseMetricsBind(bad), bad).toThrow(/HOST:PORT, \[IPV6\]:PORT or :PORT/);
    }
  });
});

describe('aggregation in the supervisor', () => {
  /** What the supervisor receives: the registry's JSON after a trip through IPC. */
  async function viaIpc(metrics: ServerMetrics): Promise<RegistryJSON> {
    return JSON.parse(JSON.stringify(await metrics.registry.getMetricsAsJSON())) as RegistryJSON;
  }

  function setLag(json: RegistryJSON, value: number): void {
    const lag = json.find((metric) => metric.name === 'tsgi_event_loop_lag_seconds')!;
    lag.values[0]!.value = value;
  }

  it('sums counters, histograms and gauges, takes the worst lag, and adds the supervisor', async () => {
    const a = newMetrics();
    const b = newMetrics();
    request(a, 'GET', 200, 0.003, 100);
    request(a, 'GET', 200, 0.3, 100);
    request(b, 'GET', 200, 0.004, 50);
    request(b, 'DELETE', 500, 3, 5);
    a.requestStarted();
    b.requestStarted();
    b.requestStarted();
    a.bytesIn(10);
    b.bytesIn(5);
    a.connectionOpened();
    b.webSocketOpened();

    const jsonA = await viaIpc(a);
    const jsonB = await viaIpc(b);
    // Both workers share this test's event loop, so give them different lags by hand.
    setLag(jsonA, 0.2);
    setLag(jsonB, 0.5);

    const supervisor = supervisorRegistry();
    supervisor.setWorkers(2);
    supervisor.workerRestarted('crash');
    supervisor.workerRestarted('max_requests');
    supervisor.workerRestarted('max_requests');

    const text = await aggregateMetrics([jsonA, jsonB], supervisor.registry);
    const series = parseExposition(text);
    expect(series.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(3);
    expect(series.get('tsgi_http_requests_total{method="DELETE",status_class="5xx"}')).toBe(1);
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="0.005"}')).toBe(2);
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="0.5"}')).toBe(3);
    expect(series.get('tsgi_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(4);
    expect(series.get('tsgi_http_request_duration_seconds_count')).toBe(4);
    expect(series.get('tsgi_http_request_duration_seconds_sum')).toBeCloseTo(3.307, 9);
    expect(series.get('tsgi_http_requests_in_flight')).toBe(3);
    expect(series.get('tsgi_connections_open')).toBe(1);
    expect(series.get('tsgi_http_request_bytes_total')).toBe(15);
    expect(series.get('tsgi_http_response_bytes_total')).toBe(255);
    expect(series.get('tsgi_websocket_sessions_total')).toBe(1);
    expect(series.get('tsgi_event_loop_lag_seconds')).toBe(0.5); // max, not the sum

    expect(series.get('tsgi_workers')).toBe(2);
    expect(series.get('tsgi_worker_restarts_total{reason="crash"}')).toBe(1);
    expect(series.get('tsgi_worker_restarts_total{reason="max_requests"}')).toBe(2);
    expect(series.get('tsgi_worker_restarts_total{reason="timeout"}')).toBe(0);
    expect(series.get('tsgi_worker_restarts_total{reason="reload"}')).toBe(0);

    const types = typeLines(text);
    expect(types).toContain('# TYPE tsgi_http_request_duration_seconds histogram');
    expect(types).toContain('# TYPE tsgi_worker_restarts_total counter');
    expect(types).toContain('# TYPE tsgi_workers gauge');
    expect(new Set(types).size).toBe(types.length); // each metric once
  });

  it('keeps a replaced worker’s counters, not its gauges', async () => {
    const gone = newMetrics();
    const live = newMetrics();
    request(gone, 'GET', 200, 0.01, 10);
    gone.requestStarted(); // in flight when it died: not counted any more
    request(live, 'GET', 200, 0.01, 20);

    let retired: RegistryJSON = [];
    retired = await retireWorker(retired, await viaIpc(gone));
    retired = await retireWorker(retired, await viaIpc(gone)); // a second retirement adds up
    const series = parseExposition(await aggregateMetrics([await viaIpc(live)], supervisorRegistry().registry));
    expect(series.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(1);
    const withRetired = parseExposition(await aggregateMetrics([await viaIpc(live), retired], supervisorRegistry().registry));
    expect(withRetired.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(3);
    expect(withRetired.get('tsgi_http_response_bytes_total')).toBe(40);
    expect(withRetired.get('tsgi_http_request_duration_seconds_count')).toBe(3);
    expect(withRetired.get('tsgi_http_requests_in_flight')).toBe(0);
  });
});

describe('hot path cost', () => {
  it('measures requestStarted + requestEnded (printed, not asserted)', () => {
    const metrics = newMetrics();
    const methods = ['GET', 'GET', 'GET', 'POST', 'GET', 'HEAD', 'GET', 'PUT'];
    const run = (n: number): number => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) {
        metrics.requestStarted();
        metrics.requestEnded(methods[i & 7]!, i % 50 === 0 ? 404 : 200, 0.00001 + (i & 15) * 0.0005, 13);
      }
      return Number(process.hrtime.bigint() - start) / n;
    };
    run(200_000); // warm up
    const samples = [run(1e6), run(1e6), run(1e6)].sort((x, y) => x - y);
    console.log(`metrics hot path: ${samples[1]!.toFixed(1)} ns per requestStarted+requestEnded (median of 3 × 1e6; min ${samples[0]!.toFixed(1)})`);
    expect(samples[1]).toBeGreaterThan(0);
  });
});
