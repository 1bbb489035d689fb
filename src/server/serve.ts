/**
 * `serve(app, options)`: validate options, pick a backend, listen, and return a handle whose
 * `close()` stops accepting and lets in-flight requests finish.
 */
import type { BackendName } from '../acceptors/types.js';
import { GatewayHandler } from '../core/gateway.js';
import type { GatewayApp } from '../spec/types.js';
import { createAcceptor, describeBackend } from './backends.js';
import { resolveConfig, type ServeOptions, type ServerConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';

export interface Server {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  readonly host: string;
  readonly backend: BackendName;
  readonly config: ServerConfig;
  readonly logger: Logger;
  /** Stops listening, waits for in-flight requests (up to gracefulTimeout), then closes. */
  close(): Promise<void>;
}

export async function serve(app: GatewayApp, options: ServeOptions = {}): Promise<Server> {
  if (typeof app !== 'function') {
    throw new TypeError(`serve() needs a gateway app function (environ, startResponse); got ${typeof app}`);
  }
  const config = resolveConfig(options);
  const logger = createLogger({
    level: config.logLevel,
    accessLog: config.accessLog,
    errorSink: config.errorSink,
    accessSink: config.accessSink,
  });
  const { acceptor, fallbackReason } = await createAcceptor(config.backend, config, logger);
  const handler = new GatewayHandler({
    app,
    logger,
    maxBodySize: config.maxBodySize,
    debug: config.debug,
    serverName: config.host,
    serverPort: config.port,
    multiprocess: false,
  });
  const port = await acceptor.listen(handler, (bound) => handler.setServerPort(bound));
  const fallback = fallbackReason === null ? '' : ` (uWebSockets.js unavailable: ${fallbackReason})`;
  logger.log('info', `listening on http://${formatHost(config.host)}:${port} with backend ${describeBackend(acceptor.backend)}${fallback}`);
  let closing: Promise<void> | null = null;
  return {
    port,
    host: config.host,
    backend: acceptor.backend,
    config,
    logger,
    close() {
      closing ??= acceptor.close(config.gracefulTimeout * 1000);
      return closing;
    },
  };
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
