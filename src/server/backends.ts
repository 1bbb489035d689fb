/**
 * Opens the backend a configuration asks for. A named backend either opens or fails with its
 * reason; `auto` tries the registry's `auto` backends in order and says why it skipped any.
 */
import { BACKENDS, findBackend, type BackendName } from '../acceptors/registry.js';
import { listenTargets } from '../acceptors/listen.js';
import { loadTls } from '../acceptors/tls.js';
import type { Acceptor, AcceptorOptions, Backend, ConnectionCounter } from '../acceptors/types.js';
import type { BackendChoice, ServerConfig } from './config.js';
import type { Logger } from './logger.js';

export interface ChosenBackend {
  backend: Backend<BackendName>;
  acceptor: Acceptor;
  /** Why this backend runs, for the start-up line: `as configured`, `auto's first choice`, or why auto passed over others. */
  why: string;
  /** Serving HTTPS. */
  tls: boolean;
}

export async function openBackend(
  choice: BackendChoice,
  config: ServerConfig,
  logger: Logger,
  connectionCounter: ConnectionCounter | null,
): Promise<ChosenBackend> {
  const options: AcceptorOptions = {
    listeners: listenTargets(config),
    backlog: config.backlog,
    unixMode: parseInt(config.udsMode, 8),
    tls: loadTls(config),
    proxyProtocol: config.proxyProtocol,
    reusePort: config.reusePort,
    maxHeaderSize: config.maxHeaderSize,
    limitRequestLine: config.limitRequestLine,
    limitRequestFields: config.limitRequestFields,
    limitConcurrency: config.limitConcurrency,
    maxRequestsPerConnection: config.maxRequestsPerConnection,
    timeouts: { keepAlive: config.timeoutKeepAlive, head: config.timeoutHead, body: config.timeoutBody },
    webSocket: {
      maxMessageSize: config.wsMaxMessageSize,
      idleTimeout: config.wsIdleTimeout,
      ping: config.wsPing,
      maxBackpressure: config.wsMaxBackpressure,
    },
    observer: config.observer,
    connectionCounter,
  };
  const log = {
    internalError: (message: string): void => logger.log('error', message),
    warning: (message: string): void => logger.log('warning', message),
    info: (message: string): void => logger.log('info', message),
  };
  if (choice !== 'auto') {
    const backend = findBackend(choice)!;
    try {
      return { backend, acceptor: await backend.open(options, log), why: 'as configured', tls: options.tls !== null };
    } catch (error) {
      throw new Error(`the ${backend.name} backend is unavailable: ${(error as Error).message}`);
    }
  }
  const skipped: string[] = [];
  for (const backend of BACKENDS) {
    if (!backend.auto) continue;
    try {
      const why = skipped.length === 0 ? "auto's first choice" : `auto's fallback: ${skipped.join('; ')}`;
      return { backend, acceptor: await backend.open(options, log), why, tls: options.tls !== null };
    } catch (error) {
      skipped.push(`${backend.name} unavailable: ${(error as Error).message}`);
    }
  }
  throw new Error(`no backend could start: ${skipped.join('; ')}`);
}
