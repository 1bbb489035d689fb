/**
 * Picks and builds the acceptor for a backend choice. `auto` prefers uWebSockets.js and falls
 * back to Node's http module when the native addon cannot load on this platform or Node version.
 */
import type { Acceptor, BackendName } from '../acceptors/types.js';
import { NodeAcceptor } from '../acceptors/node.js';
import { loadUws, UwsAcceptor } from '../acceptors/uws.js';
import type { BackendChoice, ServerConfig } from './config.js';
import type { Logger } from './logger.js';

export interface ChosenBackend {
  acceptor: Acceptor;
  /** Why `auto` did not pick uws, when it did not. */
  fallbackReason: string | null;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.trim();
}

export async function createAcceptor(choice: BackendChoice, config: ServerConfig, logger: Logger): Promise<ChosenBackend> {
  const options = {
    host: config.host,
    port: config.port,
    maxHeaderSize: config.maxHeaderSize,
    webSocket: {
      maxMessageSize: config.wsMaxMessageSize,
      idleTimeout: config.wsIdleTimeout,
      ping: config.wsPing,
      maxBackpressure: config.wsMaxBackpressure,
    },
  };
  const internalError = (message: string): void => logger.log('error', message);
  if (choice === 'node') return { acceptor: new NodeAcceptor(options, internalError), fallbackReason: null };
  try {
    const uws = await loadUws(config.maxHeaderSize);
    const effective = process.env.UWS_HTTP_MAX_HEADERS_SIZE;
    if (effective !== String(config.maxHeaderSize)) {
      logger.log(
        'warning',
        `uWebSockets.js uses a header limit of ${effective} bytes (UWS_HTTP_MAX_HEADERS_SIZE, fixed when it ` +
          `first loaded in this process), not the ${config.maxHeaderSize} asked for`,
      );
    }
    const acceptor = new UwsAcceptor(
      uws,
      options,
      internalError,
      (message) => logger.log('warning', message),
    );
    return { acceptor, fallbackReason: null };
  } catch (error) {
    if (choice === 'uws') {
      throw new Error(
        `the uws backend is unavailable: uWebSockets.js did not load (${firstLine(error)}). ` +
          `Install it (npm install uWebSockets.js@npm:uws-pack@20.0.8) or use --backend node.`,
      );
    }
    return { acceptor: new NodeAcceptor(options, internalError), fallbackReason: firstLine(error) };
  }
}

export function describeBackend(name: BackendName): string {
  return name === 'uws' ? 'uws (uWebSockets.js)' : 'node (node:http)';
}
