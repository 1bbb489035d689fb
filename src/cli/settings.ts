/**
 * The CLI's settings, declared once as data: the parser, `--help` and the README's option table
 * all come from this list, so they cannot drift apart.
 */
import { BACKENDS } from '../acceptors/registry.js';
import {
  BACKEND_CHOICES,
  type BackendChoice,
  DEFAULT_WS_IDLE_TIMEOUT,
  DEFAULT_WS_MAX_BACKPRESSURE,
  DEFAULT_WS_MAX_MESSAGE_SIZE,
  LIFESPAN_MODES,
} from '../server/config.js';
import { INTERFACES } from '../event/interface.js';
import { LOG_LEVELS } from '../server/logger.js';
import {
  DEFAULT_LIMIT_REQUEST_LINE,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_TIMEOUT_BODY,
  DEFAULT_TIMEOUT_HEAD,
  DEFAULT_TIMEOUT_KEEP_ALIVE,
} from '../spec/constants.js';

export interface CliSettings {
  bind: string;
  backend: BackendChoice;
  interface: (typeof INTERFACES)[number];
  lifespan: (typeof LIFESPAN_MODES)[number];
  wsMaxMessageSize: number;
  wsIdleTimeout: number;
  wsNoPing: boolean;
  wsMaxBackpressure: number;
  logLevel: (typeof LOG_LEVELS)[number];
  accessLog: boolean;
  debug: boolean;
  maxBodySize: number;
  maxHeaderSize: number;
  limitRequestLine: number;
  timeoutKeepAlive: number;
  timeoutHead: number;
  timeoutBody: number;
  gracefulTimeout: number;
}

export interface Setting {
  key: keyof CliSettings;
  flag: string;
  short?: string;
  kind: 'string' | 'integer' | 'flag' | 'choice';
  metavar?: string;
  choices?: readonly string[];
  default: string | number | boolean;
  help: string;
}

export const SETTINGS: readonly Setting[] = [
  {
    key: 'bind',
    flag: '--bind',
    short: '-b',
    kind: 'string',
    metavar: 'HOST:PORT',
    default: '127.0.0.1:8000',
    help: 'Address to listen on. The PORT environment variable sets the port when --bind is not given. IPv6: [::1]:8000.',
  },
  {
    key: 'backend',
    flag: '--backend',
    kind: 'choice',
    choices: BACKEND_CHOICES,
    default: 'auto',
    help:
      BACKENDS.map((backend) => `${backend.name}: ${backend.summary}`).join(' ') +
      ` auto: the first of ${BACKENDS.filter((backend) => backend.auto).map((backend) => backend.name).join(', ')} that loads here.`,
  },
  {
    key: 'interface',
    flag: '--interface',
    kind: 'choice',
    choices: INTERFACES,
    default: 'auto',
    help:
      'App interface: gateway (environ, startResponse), event (scope, receive, send), or auto: event when the app ' +
      "declares itself (defineEventApp(app) or app.tsgiInterface = 'event'), else gateway.",
  },
  {
    key: 'lifespan',
    flag: '--lifespan',
    kind: 'choice',
    choices: LIFESPAN_MODES,
    default: 'auto',
    help: 'Event apps: run lifespan startup/shutdown (on), skip it (off), or auto: go on without it when the app raises on it.',
  },
  {
    key: 'logLevel',
    flag: '--log-level',
    kind: 'choice',
    choices: LOG_LEVELS,
    default: 'info',
    help: 'Error-log threshold (stderr).',
  },
  { key: 'accessLog', flag: '--access-log', kind: 'flag', default: false, help: 'Write one Common Log Format line per response to stdout.' },
  { key: 'debug', flag: '--debug', kind: 'flag', default: false, help: 'Show stack traces in 500 responses. Never in production.' },
  {
    key: 'maxBodySize',
    flag: '--max-body-size',
    kind: 'integer',
    metavar: 'BYTES',
    default: DEFAULT_MAX_BODY_SIZE,
    help: 'Largest request body buffered for an app that does not stream its input; 413 beyond.',
  },
  {
    key: 'maxHeaderSize',
    flag: '--max-header-size',
    kind: 'integer',
    metavar: 'BYTES',
    default: DEFAULT_MAX_HEADER_SIZE,
    help: 'Largest request line plus headers; 431 beyond.',
  },
  {
    key: 'limitRequestLine',
    flag: '--limit-request-line',
    kind: 'integer',
    metavar: 'BYTES',
    default: DEFAULT_LIMIT_REQUEST_LINE,
    help: 'Longest request line (method, target, version); 414 beyond (431 past --max-header-size).',
  },
  {
    key: 'timeoutKeepAlive',
    flag: '--timeout-keep-alive',
    kind: 'integer',
    metavar: 'SECONDS',
    default: DEFAULT_TIMEOUT_KEEP_ALIVE,
    help: 'Close a keep-alive connection idle this long between requests (llhttp, node; uws keeps its own ~10 s).',
  },
  {
    key: 'timeoutHead',
    flag: '--timeout-head',
    kind: 'integer',
    metavar: 'SECONDS',
    default: DEFAULT_TIMEOUT_HEAD,
    help: 'A request head must arrive within this long of its first byte, else 408 and close: slowloris (llhttp, node).',
  },
  {
    key: 'timeoutBody',
    flag: '--timeout-body',
    kind: 'integer',
    metavar: 'SECONDS',
    default: DEFAULT_TIMEOUT_BODY,
    help: 'A request body the app is waiting for may stall this long, else 408 (or a cut connection) (llhttp, node).',
  },
  {
    key: 'wsMaxMessageSize',
    flag: '--ws-max-message-size',
    kind: 'integer',
    metavar: 'BYTES',
    default: DEFAULT_WS_MAX_MESSAGE_SIZE,
    help: 'Largest websocket message a client may send; the connection is closed with 1009 beyond.',
  },
  {
    key: 'wsIdleTimeout',
    flag: '--ws-idle-timeout',
    kind: 'integer',
    metavar: 'SECONDS',
    default: DEFAULT_WS_IDLE_TIMEOUT,
    help: 'Close a websocket silent for this long (0: never; else 8-960, 4 s resolution).',
  },
  {
    key: 'wsNoPing',
    flag: '--no-ws-ping',
    kind: 'flag',
    default: false,
    help: 'Do not ping silent websocket clients (by default a ping keeps live clients connected through the idle timeout).',
  },
  {
    key: 'wsMaxBackpressure',
    flag: '--ws-max-backpressure',
    kind: 'integer',
    metavar: 'BYTES',
    default: DEFAULT_WS_MAX_BACKPRESSURE,
    help: "Bytes a websocket may have queued for a slow client before the app's send() waits.",
  },
  {
    key: 'gracefulTimeout',
    flag: '--graceful-timeout',
    kind: 'integer',
    metavar: 'SECONDS',
    default: 30,
    help: 'On SIGINT/SIGTERM, how long in-flight requests may run before connections are cut.',
  },
];
