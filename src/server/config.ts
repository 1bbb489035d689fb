/**
 * Server options, validated once into one frozen object. Nothing downstream re-reads argv or
 * the environment; the CLI and `serve()` both come through `resolveConfig`.
 */
import { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_HEADER_SIZE } from '../spec/constants.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';

export const BACKENDS = ['auto', 'uws', 'node'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface ServeOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 picks a free one (default 8000). */
  port?: number;
  /** `auto` (default) uses uWebSockets.js when it loads, else Node's http module. */
  backend?: BackendChoice;
  /** Largest request body buffered for an app that does not stream its input (default 1 MiB). */
  maxBodySize?: number;
  /** Largest request line plus headers (default 16 KiB); 431 beyond. */
  maxHeaderSize?: number;
  /** Error-log threshold (default `info`). */
  logLevel?: LogLevel;
  /** Write a Common Log Format line per response to stdout (default false). */
  accessLog?: boolean;
  /** Put stack traces in 500 responses (default false: never in production). */
  debug?: boolean;
  /** Seconds `close()` waits for in-flight requests before cutting connections (default 30). */
  gracefulTimeout?: number;
  /** Where error-log and access-log text goes (default stderr and stdout). */
  errorSink?: (text: string) => void;
  accessSink?: (text: string) => void;
}

export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly backend: BackendChoice;
  readonly maxBodySize: number;
  readonly maxHeaderSize: number;
  readonly logLevel: LogLevel;
  readonly accessLog: boolean;
  readonly debug: boolean;
  readonly gracefulTimeout: number;
  readonly errorSink: ((text: string) => void) | undefined;
  readonly accessSink: ((text: string) => void) | undefined;
}

export class ConfigError extends Error {}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(value)}`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new ConfigError(`${name} must be one of ${choices.join(', ')}; got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function resolveConfig(options: ServeOptions = {}): ServerConfig {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new ConfigError('host must be a non-empty string');
  return Object.freeze({
    host,
    port: integerIn('port', options.port ?? 8000, 0, 65535),
    backend: oneOf('backend', options.backend ?? 'auto', BACKENDS),
    maxBodySize: integerIn('maxBodySize', options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE, 0, Number.MAX_SAFE_INTEGER),
    maxHeaderSize: integerIn('maxHeaderSize', options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE, 1024, 1024 * 1024),
    logLevel: oneOf('logLevel', options.logLevel ?? 'info', LOG_LEVELS),
    accessLog: options.accessLog === true,
    debug: options.debug === true,
    gracefulTimeout: integerIn('gracefulTimeout', options.gracefulTimeout ?? 30, 0, 24 * 3600),
    errorSink: options.errorSink,
    accessSink: options.accessSink,
  });
}
