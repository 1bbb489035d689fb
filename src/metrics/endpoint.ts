/**
 * `--metrics-bind HOST:PORT`: a small node:http server apart from the app's, answering
 * GET/HEAD /metrics (Prometheus text) and GET/HEAD /healthz (`ok` while healthy, 503 `draining`
 * after). Any other path is 404, any other method on these two 405 with `Allow`.
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatHost, parseHostPort } from '../acceptors/listen.js';

export interface MetricsSource {
  /** The exposition text: one registry's `metrics()`, or the supervisor's aggregation. */
  metrics(): Promise<string>;
  /** The Content-Type of that text (a registry's `contentType`). */
  contentType: string;
  /** False once the server drains: /healthz then answers 503. */
  healthy(): boolean;
}

export interface MetricsEndpoint {
  /** The port listened on (the one chosen when asked for 0). */
  port: number;
  /** For the log: `metrics on http://HOST:PORT/metrics, health on /healthz`. */
  description: string;
  /** Stops listening, closes idle connections, lets a scrape in progress finish; resolves when all are closed. */
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD';
/** How long close() lets a scrape in progress finish before cutting its connection. */
const CLOSE_GRACE_MS = 2000;

/**
 * The value of `--metrics-bind`: `HOST:PORT`, `[IPV6]:PORT`, or `:PORT` (host 127.0.0.1), read
 * with the same host:port rules as `--bind`; unlike `--bind` the port is required.
 */
export function parseMetricsBind(value: string): { host: string; port: number } {
  const fail = (why: string): never => {
    throw new Error(
      `the metrics address is HOST:PORT, [IPV6]:PORT or :PORT (e.g. 127.0.0.1:9100, [::1]:9100, :9100)${why}; got ${JSON.stringify(value)}`,
    );
  };
  let parts: { host: string | null; port: number | null };
  try {
    parts = parseHostPort(value);
  } catch {
    return fail(value.startsWith('[') ? '' : ': the port is a number from 0 to 65535');
  }
  const { host, port } = parts;
  // A bare number is a port to --bind, but the metrics address always names its port after a colon.
  if (port === null || !value.includes(':')) return fail(!value.startsWith('[') && value.split(':').length > 2 ? ': an IPv6 address goes in brackets' : '');
  if (value.length - value.lastIndexOf(':') - 1 > 5) return fail(': the port is a number from 0 to 65535');
  if (value.startsWith('[') && !host!.includes(':')) return fail(': brackets are for IPv6 addresses');
  if (host !== null && (host === '' || /[\s/[\]]/.test(host))) return fail('');
  return { host: host ?? '127.0.0.1', port };
}

/** Parses `bind` (parseMetricsBind) and starts the endpoint there. */
export function listenForMetrics(bind: string, source: MetricsSource): Promise<MetricsEndpoint> {
  const { host, port } = parseMetricsBind(bind);
  return startMetricsEndpoint(host, port, source);
}

/** Starts listening on host:port; rejects, naming host:port, when it cannot. */
export function startMetricsEndpoint(host: string, port: number, source: MetricsSource): Promise<MetricsEndpoint> {
  const where = `${formatHost(host)}:${port}`;
  const server = createServer((req, res) => {
    handle(req, res, source);
  });
  // Scrapes are small and quick: do not hold sockets as long as Node's defaults allow.
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(new Error(`cannot listen for metrics on ${where}: ${err.message}`, { cause: err }));
    };
    server.once('error', onError);
    const listening = (): void => {
      server.off('error', onError);
      // After listening, a server error (rare: e.g. EMFILE on accept) must not crash the process.
      server.on('error', () => {});
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      let closing: Promise<void> | null = null;
      resolve({
        port: actual,
        description: `metrics on http://${formatHost(host)}:${actual}/metrics, health on /healthz`,
        close(): Promise<void> {
          closing ??= new Promise<void>((done) => {
            const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
            cut.unref();
            server.close(() => {
              clearTimeout(cut);
              done();
            });
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    };
    try {
      server.listen(port, host, listening);
    } catch (err) {
      onError(err as Error); // a port out of range throws at once
    }
  });
}

function handle(req: IncomingMessage, res: ServerResponse, source: MetricsSource): void {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path !== '/metrics' && path !== '/healthz') {
    send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', ALLOW);
    send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    return;
  }
  if (path === '/healthz') {
    const healthy = source.healthy();
    send(res, healthy ? 200 : 503, 'text/plain; charset=utf-8', healthy ? 'ok\n' : 'draining\n');
    return;
  }
  source.metrics().then(
    (text) => send(res, 200, source.contentType, text),
    (err: unknown) => {
      const reason = err instanceof Error ? err.message : String(err);
      send(res, 500, 'text/plain; charset=utf-8', `metrics unavailable: ${reason.replace(/[\r\n]+/g, ' ')}\n`);
    },
  );
}

/** The whole response at once; Node leaves out the body of an answer to HEAD. */
function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}
