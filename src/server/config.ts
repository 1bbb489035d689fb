/**
 * Server options, validated once into one frozen object. Nothing downstream re-reads argv or
 * the environment; the CLI and `serve()` both come through `resolveConfig`.
 */
import {
  DEFAULT_LIMIT_REQUEST_LINE,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_TIMEOUT_BODY,
  DEFAULT_TIMEOUT_HEAD,
  DEFAULT_TIMEOUT_KEEP_ALIVE,
} from '../spec/constants.js';
import { INTERFACES, type InterfaceChoice } from '../event/interface.js';
import { LOG_LEVELS, type LogLevel } from './logger.js';
import { BACKEND_NAMES, type BackendName } from '../acceptors/registry.js';

/** `auto` and every registered backend's name. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', ...BACKEND_NAMES];
export type BackendChoice = 'auto' | BackendName;
export const LIFESPAN_MODES = ['auto', 'on', 'off'] as const;
export type LifespanMode = (typeof LIFESPAN_MODES)[number];

/** Websocket defaults: 16 MiB messages (as uvicorn), 120 s idle with pings, 1 MiB send queue. */
export const DEFAULT_WS_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;
export const DEFAULT_WS_IDLE_TIMEOUT = 120;
export const DEFAULT_WS_MAX_BACKPRESSURE = 1024 * 1024;

export interface ServeOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port to listen on; 0 picks a free one (default 8000). */
  port?: number;
  /** A registered backend's name, or `auto` (default): the first of the registry's `auto` backends that loads. */
  backend?: BackendChoice;
  /** Largest request body buffered for an app that does not stream its input (default 1 MiB). */
  maxBodySize?: number;
  /** Largest request line plus headers (default 16 KiB); 431 beyond. */
  maxHeaderSize?: number;
  /** Longest request line, method and target and version (default 8190 bytes); 414 beyond. */
  limitRequestLine?: number;
  /** Seconds a keep-alive connection may sit idle between requests (default 5). */
  timeoutKeepAlive?: number;
  /** Seconds a request head may take to arrive once it started (default 10): 408 beyond. */
  timeoutHead?: number;
  /** Seconds a request body may stall while the app waits for it (default 30): 408 beyond. */
  timeoutBody?: number;
  /** Error-log threshold (default `info`). */
  logLevel?: LogLevel;
  /** Write a Common Log Format line per response to stdout (default false). */
  accessLog?: boolean;
  /** Put stack traces in 500 responses (default false: never in production). */
  debug?: boolean;
  /** Seconds `close()` waits for in-flight requests before cutting connections (default 30). */
  gracefulTimeout?: number;
  /**
   * `gateway` (environ, startResponse), `event` (scope, receive, send), or `auto` (default):
   * event when the app declares itself with defineEventApp() or `app.tsgiInterface = 'event'`.
   */
  interface?: InterfaceChoice;
  /**
   * Event apps: run the lifespan protocol (`on`), skip it (`off`), or `auto` (default): run it,
   * and go on without it when the app raises before answering `lifespan.startup`.
   */
  lifespan?: LifespanMode;
  /** Largest websocket message a client may send, in bytes (default 16 MiB); 1009 beyond. */
  wsMaxMessageSize?: number;
  /** Seconds a websocket may stay silent before it is closed; 0 disables (default 120). */
  wsIdleTimeout?: number;
  /** Ping silent websocket clients so live ones stay connected through wsIdleTimeout (default true). */
  wsPing?: boolean;
  /** Bytes a websocket may have queued for sending before `send()` waits (default 1 MiB). */
  wsMaxBackpressure?: number;
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
  readonly limitRequestLine: number;
  readonly timeoutKeepAlive: number;
  readonly timeoutHead: number;
  readonly timeoutBody: number;
  readonly logLevel: LogLevel;
  readonly accessLog: boolean;
  readonly debug: boolean;
  readonly gracefulTimeout: number;
  readonly interface: InterfaceChoice;
  readonly lifespan: LifespanMode;
  readonly wsMaxMessageSize: number;
  readonly wsIdleTimeout: number;
  readonly wsPing: boolean;
  readonly wsMaxBackpressure: number;
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

/** uWebSockets.js accepts 0 (off) or 8 s and more, with a 4 s resolution; every backend obeys the same rule. */
function idleTimeout(value: unknown): number {
  if (value === 0) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 8 || value > 960) {
    throw new ConfigError(`wsIdleTimeout must be 0 (off) or an integer from 8 to 960 seconds; got ${JSON.stringify(value)}`);
  }
  return value;
}

export function resolveConfig(options: ServeOptions = {}): ServerConfig {
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new ConfigError('host must be a non-empty string');
  return Object.freeze({
    host,
    port: integerIn('port', options.port ?? 8000, 0, 65535),
    backend: oneOf('backend', options.backend ?? 'auto', BACKEND_CHOICES),
    maxBodySize: integerIn('maxBodySize', options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE, 0, Number.MAX_SAFE_INTEGER),
    maxHeaderSize: integerIn('maxHeaderSize', options.maxHeaderSize ?? DEFAULT_MAX_HEADER_SIZE, 1024, 1024 * 1024),
    limitRequestLine: integerIn('limitRequestLine', options.limitRequestLine ?? DEFAULT_LIMIT_REQUEST_LINE, 64, 1024 * 1024),
    timeoutKeepAlive: integerIn('timeoutKeepAlive', options.timeoutKeepAlive ?? DEFAULT_TIMEOUT_KEEP_ALIVE, 1, 3600),
    timeoutHead: integerIn('timeoutHead', options.timeoutHead ?? DEFAULT_TIMEOUT_HEAD, 1, 3600),
    timeoutBody: integerIn('timeoutBody', options.timeoutBody ?? DEFAULT_TIMEOUT_BODY, 1, 3600),
    logLevel: oneOf('logLevel', options.logLevel ?? 'info', LOG_LEVELS),
    accessLog: options.accessLog === true,
    debug: options.debug === true,
    gracefulTimeout: integerIn('gracefulTimeout', options.gracefulTimeout ?? 30, 0, 24 * 3600),
    interface: oneOf('interface', options.interface ?? 'auto', INTERFACES),
    lifespan: oneOf('lifespan', options.lifespan ?? 'auto', LIFESPAN_MODES),
    wsMaxMessageSize: integerIn('wsMaxMessageSize', options.wsMaxMessageSize ?? DEFAULT_WS_MAX_MESSAGE_SIZE, 1, 2 ** 31 - 1),
    wsIdleTimeout: idleTimeout(options.wsIdleTimeout ?? DEFAULT_WS_IDLE_TIMEOUT),
    wsPing: options.wsPing !== false,
    wsMaxBackpressure: integerIn('wsMaxBackpressure', options.wsMaxBackpressure ?? DEFAULT_WS_MAX_BACKPRESSURE, 1024, 2 ** 31 - 1),
    errorSink: options.errorSink,
    accessSink: options.accessSink,
  });
}
