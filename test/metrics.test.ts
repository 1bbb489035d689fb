/**
 * --metrics-bind as Prometheus and an orchestrator see it: /metrics after real traffic on every
 * backend (requests by method and status class, durations, bytes, connections, websockets),
 * /healthz turning 503 while the server drains, and under the supervisor the workers' metrics
 * summed, with restarts counted and counters that survive a crashed worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventApp } from '../src/index.js';
import { killChildren, run } from './cli-process.js';
import { describeBackends, startServer, traitsOf, type TestServer } from './helpers.js';
import { spreadOverWorkers, startSupervised } from './supervisor-process.js';

/** Every sample of an exposition, by name and label text: `tsgi_x{a="b"}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return samples(await response.text());
}

async function health(port: number): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/healthz`, { headers: { Connection: 'close' } })).status;
}

const app: EventApp = async (scope, receive, send) => {
  if (scope.type === 'websocket') {
    await receive();
    await send({ type: 'websocket.accept' });
    for (;;) {
      const message = await receive();
      if (message.type === 'websocket.disconnect') return;
    }
  }
  if (scope.type !== 'http') return;
  let received = 0;
  for (;;) {
    const message = await receive();
    if (message.type !== 'http.request') break;
    received += message.body?.byteLength ?? 0;
    if (!message.more_body) break;
  }
  if (scope.path === '/slow') await new Promise((resolve) => setTimeout(resolve, 800));
  const status = scope.path === '/missing' ? 404 : 200;
  await send({ type: 'http.response.start', status, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body: new TextEncoder().encode(`got ${received}`) });
};

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
  killChildren();
});

describeBackends('metrics on %s', (backend) => {
  it('/metrics counts what clients did: requests by method and status class, durations, bytes, connections, websockets', async () => {
    server = await startServer(app, backend, { interface: 'event', metricsBind: '127.0.0.1:0' });
    const metricsPort = server.server.metricsPort;
    expect(metricsPort).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/ok`)).text();
    await (await fetch(`${server.url}/missing`)).text();
    await (await fetch(`${server.url}/upload`, { method: 'POST', body: 'x'.repeat(1000) })).text();
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}/ws`);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const during = await scrape(metricsPort);
    expect(during.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(3);
    expect(during.get('tsgi_http_requests_total{method="GET",status_class="4xx"}')).toBe(1);
    expect(during.get('tsgi_http_requests_total{method="POST",status_class="2xx"}')).toBe(1);
    // The websocket handshake counts as one GET answered 101.
    expect(during.get('tsgi_http_requests_total{method="GET",status_class="1xx"}')).toBe(1);
    expect(during.get('tsgi_http_request_duration_seconds_count')).toBe(6);
    expect(during.get('tsgi_http_request_duration_seconds_bucket{le="+Inf"}')).toBe(6);
    expect(during.get('tsgi_http_request_bytes_total')).toBe(1000);
    // Bodies: "got 0" ×4 plus "got 1000".
    expect(during.get('tsgi_http_response_bytes_total')).toBe(5 * 4 + 8);
    expect(during.get('tsgi_http_requests_in_flight')).toBe(0);
    expect(during.get('tsgi_websocket_sessions_open')).toBe(1);
    expect(during.get('tsgi_websocket_sessions_total')).toBe(1);
    expect(during.has('tsgi_event_loop_lag_seconds')).toBe(true);
    expect(during.has('tsgi_process_resident_memory_bytes')).toBe(true);
    if (traitsOf(backend).countsConnections) {
      // At least the websocket's connection is open (fetch may keep its own alive too).
      expect(during.get('tsgi_connections_open')).toBeGreaterThanOrEqual(1);
    } else {
      expect(during.has('tsgi_connections_open')).toBe(false);
    }
    socket.close();
    const closed = await new Promise<Map<string, number>>((resolve) => {
      const poll = async (): Promise<void> => {
        const now = await scrape(metricsPort);
        if (now.get('tsgi_websocket_sessions_open') === 0) resolve(now);
        else setTimeout(() => void poll(), 20);
      };
      void poll();
    });
    expect(closed.get('tsgi_websocket_sessions_total')).toBe(1);
  });

  it('/healthz is 200 while serving and 503 while draining', async () => {
    server = await startServer(app, backend, { interface: 'event', metricsBind: '127.0.0.1:0', gracefulTimeout: 5 });
    const metricsPort = server.server.metricsPort;
    expect(await health(metricsPort)).toBe(200);
    const slow = fetch(`${server.url}/slow`).then((response) => response.status);
    // The slow request is in flight once the gauge says so.
    let inFlight = 0;
    for (let i = 0; i < 100 && inFlight === 0; i++) inFlight = (await scrape(metricsPort)).get('tsgi_http_requests_in_flight') ?? 0;
    expect(inFlight).toBe(1);
    const closing = server.server.close();
    expect(await health(metricsPort)).toBe(503);
    expect(await slow).toBe(200);
    await closing;
    server = null;
  });
});

describe('metrics under the supervisor', () => {
  it('sums the workers, counts a crashed worker as a restart, and keeps its counts', async () => {
    const supervised = await startSupervised(['--workers', '2', '--metrics-bind', '127.0.0.1:0', 'test/fixtures/worker-app.mjs']);
    const metricsPort = Number((await supervised.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/))[1]);
    // Both workers serve some, so the total is a sum over them.
    const { pids, requests } = await spreadOverWorkers(async () =>
      (await fetch(`http://127.0.0.1:${supervised.port}/busy/100`, { headers: { Connection: 'close' } })).text(),
    );
    expect(pids.size).toBe(2);
    const before = await scrape(metricsPort);
    expect(before.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(requests);
    expect(before.get('tsgi_workers')).toBe(2);
    expect(before.get('tsgi_worker_restarts_total{reason="crash"}')).toBe(0);
    const mark = supervised.log().length;
    process.kill(Number([...pids][0]), 'SIGKILL');
    await supervised.waitFor(/exited unexpectedly/, 15_000, mark);
    await supervised.waitFor(/serving with backend/, 15_000, mark);
    const after = await new Promise<Map<string, number>>((resolve) => {
      const poll = async (): Promise<void> => {
        const now = await scrape(metricsPort);
        if (now.get('tsgi_worker_restarts_total{reason="crash"}') === 1 && now.get('tsgi_workers') === 2) resolve(now);
        else setTimeout(() => void poll(), 50);
      };
      void poll();
    });
    // The dead worker's requests are still in the total: counters never go backwards.
    expect(after.get('tsgi_http_requests_total{method="GET",status_class="2xx"}')).toBe(requests);
    expect(await health(metricsPort)).toBe(200);
    supervised.child.kill('SIGTERM');
    expect(await supervised.exited).toBe(0);
  });

  it('a metrics address that is taken fails the start naming it', async () => {
    const holder = await startServer(app, 'node', { interface: 'event', metricsBind: '127.0.0.1:0' });
    try {
      const result = run(['--workers', '2', '--bind', '127.0.0.1:0', '--metrics-bind', `127.0.0.1:${holder.server.metricsPort}`, 'examples/hello.mjs']);
      expect(await result.exited).toBe(1);
      expect(result.stderr.join('')).toContain(`cannot listen for metrics on 127.0.0.1:${holder.server.metricsPort}`);
    } finally {
      await holder.close();
    }
  });
});
