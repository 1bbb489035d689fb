/**
 * `serve(app, options)`: validate options, pick the interface and a backend, run the lifespan
 * startup of an event app, listen, and return a handle whose `close()` stops accepting, lets
 * in-flight requests finish and runs the lifespan shutdown.
 */
import { describeTarget, serverAddressOf, type BoundTarget } from '../acceptors/listen.js';
import type { ConnectionCounter } from '../acceptors/types.js';
import { listenForMetrics, type MetricsEndpoint } from '../metrics/endpoint.js';
import { ServerMetrics } from '../metrics/server-metrics.js';
import type { BackendName } from '../acceptors/registry.js';
import type { Handlers } from '../acceptors/types.js';
import { GatewayHandler } from '../core/gateway.js';
import { ProxyTrust } from '../core/proxy.js';
import { ResponseHeadCache } from '../core/response-head.js';
import { EventHttpHandler } from '../event/http.js';
import { resolveInterface, type AppInterface } from '../event/interface.js';
import { adoptApp, type ServableApp } from './adopt-app.js';
import { Lifespan } from '../event/lifespan.js';
import type { ScopeDefaults } from '../event/scope.js';
import { EventWebSocketHandler } from '../event/websocket.js';
import type { EventApp } from '../spec/event-types.js';
import type { GatewayApp } from '../spec/types.js';
import { openBackend } from './backends.js';
import { resolveConfig, type ServeOptions, type ServerConfig } from './config.js';
import { ExchangeReport } from '../core/exchange-report.js';
import { createLogger, type Logger } from './logger.js';
import { openLogs, type ServerLogs } from './logs.js';

/**
 * How long a server that is stopping (SIGTERM, a reload, a recycled worker) keeps its idle
 * keep-alive connections, answering whatever comes on them with `Connection: close`: a proxy or
 * client that reuses one, or a connection accepted just before the listener closed, gets an
 * answer instead of a reset.
 */
export const DRAIN_LINGER_MS = 1000;

export interface CloseOptions {
  /**
   * Keep idle keep-alive connections open this long (ms) before closing them, answering every
   * request meanwhile with `Connection: close`, so busy clients move to another server without a
   * reset. For a server being replaced while the service goes on; default 0.
   */
  lingerMs?: number;
}

export interface Server {
  /** The first TCP listener's port, as bound (useful with port 0); 0 when none is TCP. */
  readonly port: number;
  /** The first TCP listener's host (the configured host when none is TCP). */
  readonly host: string;
  /** Every listening socket, as bound. */
  readonly listeners: readonly BoundTarget[];
  /** Served over TLS (https). */
  readonly tls: boolean;
  readonly backend: BackendName;
  /** The interface the app is served with. */
  readonly interface: AppInterface;
  readonly config: ServerConfig;
  readonly logger: Logger;
  /**
   * Stops listening, waits for in-flight requests (up to gracefulTimeout), closes what is left,
   * then runs the lifespan shutdown; rejects when the app reports `lifespan.shutdown.failed`.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Closes the listening socket only: accepted connections go on being served until close(). */
  stopAccepting(): void;
  /** Opens --access-logfile and --error-logfile again at their paths (after logrotate moved them: USR1). */
  reopenLogs(): void;
  /** The server's metrics (--metrics-bind, or kept for a supervisor); null when off. */
  readonly metrics: ServerMetrics | null;
  /** The port /metrics and /healthz are served on; 0 when not served here. */
  readonly metricsPort: number;
}

/** A start that failed: the log files it opened are closed, and the error goes on. */
function abandon(logs: ServerLogs, error: unknown): never {
  logs.close();
  throw error;
}

/** Hands connection events to the metrics once they exist. */
class ConnectionRelay implements ConnectionCounter {
  metrics: ServerMetrics | null = null;

  opened(): void {
    this.metrics?.connectionOpened();
  }

  closed(): void {
    this.metrics?.connectionClosed();
  }
}

export async function serve(given: ServableApp, options: ServeOptions = {}): Promise<Server> {
  const config = resolveConfig(options);
  // A fetch handler (Hono) or a Node listener (Express, Koa) runs as an event app through a bridge.
  const { app, bridge } = adoptApp(given, config.interface);
  if (typeof app !== 'function') {
    throw new TypeError(
      `serve() needs an app: a gateway app (environ, startResponse), an event app (scope, receive, send), ` +
        `a fetch handler (an object with a fetch(request) method), an Express, connect or Koa app, or a Node ` +
        `listener (req, res) with interface: 'node'; got ${app === null ? 'null' : typeof app}`,
    );
  }
  const appInterface = resolveInterface(app, bridge !== null ? 'event' : (config.interface as Exclude<typeof config.interface, 'fetch' | 'node'>));
  const logs = openLogs(config);
  const logger = createLogger({ level: config.logLevel, errorSink: logs.errorSink });
  const metricsWanted = config.metricsBind !== '' || config.collectMetrics;
  // The metrics are made once the backend is known (whether it can count connections); the
  // acceptor is told of connections through this relay, and none arrives before it listens.
  const connections = metricsWanted ? new ConnectionRelay() : null;
  // Startup runs before anything listens: a failed startup never accepts a connection.
  const lifespan = appInterface === 'event' ? new Lifespan(app as EventApp, config.lifespan, logger) : null;
  // A server that does not start closes the log files it opened.
  if (lifespan !== null) await lifespan.startup().catch((error: unknown) => abandon(logs, error));
  let chosen;
  try {
    chosen = await openBackend(config.backend, config, logger, connections);
  } catch (error) {
    await lifespan?.shutdown().catch(() => undefined);
    return abandon(logs, error);
  }
  const { backend, acceptor, why, tls } = chosen;
  const metrics = metricsWanted ? new ServerMetrics({ countsConnections: backend.traits.countsConnections }) : null;
  if (connections !== null) connections.metrics = metrics;
  const report = ExchangeReport.create(logs.access, metrics);
  const scheme = tls ? 'https' : 'http';
  const proxyTrust = config.proxyHeaders ? ProxyTrust.parse(config.forwardedAllowIps) : null;
  let handlers: Handlers;
  // SERVER_NAME, SERVER_PORT and the scope's `server` name the first listener once it is bound.
  let setServer: (server: [host: string, port: number | null]) => void;
  if (appInterface === 'gateway') {
    const handler = new GatewayHandler({
      app: app as GatewayApp,
      logger,
      maxBodySize: config.maxBodySize,
      debug: config.debug,
      urlScheme: scheme,
      limitRequestFields: config.limitRequestFields,
      proxyTrust,
      report,
      multiprocess: false,
    });
    handlers = { request: handler, upgrade: null };
    setServer = ([host, port]) => handler.setServerAddress(host, port);
  } else {
    const defaults: ScopeDefaults = {
      scheme,
      server: null,
      state: lifespan!.state,
      trailers: backend.traits.trailers,
    };
    const runtime = { app: app as EventApp, logger, debug: config.debug, heads: new ResponseHeadCache(), defaults, limitRequestFields: config.limitRequestFields, proxyTrust, report };
    handlers = { request: new EventHttpHandler(runtime), upgrade: new EventWebSocketHandler(runtime) };
    setServer = (server) => {
      defaults.server = server;
    };
  }
  let listeners: readonly BoundTarget[];
  let endpoint: MetricsEndpoint | null = null;
  let draining = false;
  try {
    listeners = await acceptor.listen(handlers, (bound) => setServer(serverAddressOf(bound[0]!)));
    if (metrics !== null && config.metricsBind !== '') {
      endpoint = await listenForMetrics(config.metricsBind, {
        metrics: () => metrics.registry.metrics(),
        contentType: metrics.registry.contentType,
        healthy: () => !draining,
      });
      logger.log('info', endpoint.description);
    }
  } catch (error) {
    await acceptor.close(0).catch(() => undefined);
    await lifespan?.shutdown().catch(() => undefined);
    return abandon(logs, error);
  }
  metrics?.start();
  logger.log(
    'info',
    `listening on ${listeners.map((target) => describeTarget(target, tls)).join(', ')} with backend ${backend.name} (${backend.label}, ${why}), ` +
      (bridge !== null ? `${bridge} interface (served as an event app)` : `${appInterface} interface`),
  );
  const firstTcp = listeners.find((target) => target.kind === 'tcp');
  let closing: Promise<void> | null = null;
  return {
    port: firstTcp?.port ?? 0,
    host: firstTcp?.host ?? config.host,
    listeners,
    tls,
    backend: backend.name,
    interface: appInterface,
    config,
    logger,
    stopAccepting() {
      acceptor.stopAccepting();
    },
    reopenLogs() {
      logs.reopen();
    },
    metrics,
    metricsPort: endpoint?.port ?? 0,
    close(options: CloseOptions = {}) {
      closing ??= (async () => {
        draining = true;
        try {
          await acceptor.close(config.gracefulTimeout * 1000, options.lingerMs ?? 0);
          if (lifespan !== null) await lifespan.shutdown();
        } finally {
          metrics?.stop();
          await endpoint?.close();
          logs.close();
        }
      })();
      return closing;
    },
  };
}
