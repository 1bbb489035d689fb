/**
 * Every setting tsgi has, declared once (gunicorn's `Setting` classes are the model). The
 * command line's flags and `--help`, the `TSGI_*` environment variables, the config file's keys,
 * `serve()`'s options, their validation and the README's table all come from this object, so
 * they cannot drift apart. A setting's name is its `serve()` option and config-file key; its flag
 * is the name in kebab-case (`maxBodySize` → `--max-body-size`), its environment variable the
 * name in upper snake case after `TSGI_` (`TSGI_MAX_BODY_SIZE`).
 */
import { availableParallelism } from 'node:os';
import { parseListenTarget } from '../acceptors/listen.js';
import { BACKENDS } from '../acceptors/registry.js';
import { CLIENT_CERT_MODES } from '../acceptors/tls.js';
import { compileAccessFormat } from '../core/access-log.js';
import { ProxyTrust } from '../core/proxy.js';
import { parseMetricsBind } from '../metrics/endpoint.js';
import { INTERFACES } from '../event/interface.js';
import { LOG_LEVELS } from '../server/logger.js';
import {
  DEFAULT_BACKLOG,
  DEFAULT_LIMIT_REQUEST_FIELDS,
  DEFAULT_LIMIT_REQUEST_LINE,
  DEFAULT_MAX_BODY_SIZE,
  DEFAULT_MAX_HEADER_SIZE,
  DEFAULT_TIMEOUT_BODY,
  DEFAULT_TIMEOUT_HEAD,
  DEFAULT_TIMEOUT_KEEP_ALIVE,
} from '../spec/constants.js';

export const SECTIONS = ['Server', 'TLS', 'Proxies', 'Workers', 'App', 'Limits', 'Timeouts', 'Websockets', 'Logging'] as const;
export type Section = (typeof SECTIONS)[number];

interface Common<T> {
  readonly section: Section;
  readonly help: string;
  readonly default: T;
  /** A one-letter flag besides the long one (`-b`). */
  readonly short?: string;
  /** Environment variables read besides `TSGI_<NAME>`, weaker than it (`PORT`). */
  readonly envAliases?: readonly string[];
  /**
   * About the processes, not one server: read by the `tsgi` command and `run()`; `serve()`, which
   * is always one process, refuses it.
   */
  readonly processLevel?: boolean;
  /** A password: --print-config shows that it is set, never its value. */
  readonly secret?: boolean;
  /** Whether other values leave this setting unused (a foreign variable's bad value is then no error). */
  readonly unusedWhen?: (values: Readonly<Record<string, unknown>>) => boolean;
}

export interface IntegerSetting extends Common<number> {
  readonly kind: 'integer';
  readonly unit: 'BYTES' | 'SECONDS' | 'PORT' | 'COUNT';
  readonly min: number;
  readonly max: number;
  /** A value outside [min, max] that is allowed too, and what it means (`0`: off). */
  readonly off?: { readonly value: number; readonly means: string };
  /** A word accepted instead of a number (`auto`), and the number it stands for here. */
  readonly word?: { readonly text: string; readonly means: string; value(): number };
}

export interface ChoiceSetting<C extends string = string> extends Common<C> {
  readonly kind: 'choice';
  readonly choices: readonly C[];
}

/** On the command line `--name` sets it and `--no-name` clears it. */
export interface FlagSetting extends Common<boolean> {
  readonly kind: 'flag';
}

export interface TextSetting extends Common<string> {
  readonly kind: 'text';
  readonly metavar: string;
  /** `''` (the default) means "not set"; otherwise a value must be non-empty. */
  readonly optional?: boolean;
  /** Checks a non-empty value; throws an Error (a usage message) for a malformed one. */
  readonly check?: (value: string) => void;
}

/**
 * Several values: a repeated flag adds one each (`--reload-dir a --reload-dir b`), an environment
 * variable separates them with commas, a config file gives an array. A stronger source replaces
 * the whole list.
 */
export interface ListSetting extends Common<readonly string[]> {
  readonly kind: 'list';
  readonly metavar: string;
  /** Checks one value; throws an Error (a usage message) for a malformed one. */
  readonly item?: (value: string) => void;
}

export type Setting = IntegerSetting | ChoiceSetting | FlagSetting | TextSetting | ListSetting;

const integer = (definition: Omit<IntegerSetting, 'kind'>): IntegerSetting => ({ kind: 'integer', ...definition });
const choice = <const C extends string>(definition: Omit<ChoiceSetting<C>, 'kind'>): ChoiceSetting<C> => ({ kind: 'choice', ...definition });
const flag = (definition: Omit<FlagSetting, 'kind'>): FlagSetting => ({ kind: 'flag', ...definition });
const text = (definition: Omit<TextSetting, 'kind'>): TextSetting => ({ kind: 'text', ...definition });
const list = (definition: Omit<ListSetting, 'kind'>): ListSetting => ({ kind: 'list', ...definition });

/** --bind, --uds or --fd given: --host and --port are not used. */
function listensElsewhere(values: Readonly<Record<string, unknown>>): boolean {
  return (values.bind as readonly string[]).length > 0 || values.uds !== '' || values.fd !== -1;
}

const BACKEND_NAMES = BACKENDS.map((backend) => backend.name);
const AUTO_BACKENDS = BACKENDS.filter((backend) => backend.auto).map((backend) => backend.name);

export const SETTINGS = {
  // --- Server ---------------------------------------------------------------------------------
  host: text({
    section: 'Server',
    metavar: 'HOST',
    default: '127.0.0.1',
    help: 'Address to listen on (IPv6 without brackets: ::1).',
  }),
  port: integer({
    section: 'Server',
    unit: 'PORT',
    min: 0,
    max: 65535,
    default: 8000,
    envAliases: ['PORT'],
    unusedWhen: listensElsewhere,
    help: 'Port to listen on; 0 picks a free one.',
  }),
  bind: list({
    section: 'Server',
    short: '-b',
    metavar: 'ADDRESS',
    default: [],
    item: (value) => void parseListenTarget(value, { host: '127.0.0.1', port: 8000 }),
    help:
      'Listen here instead of --host and --port: HOST:PORT, [IPV6]:PORT, :PORT, HOST, unix:PATH or fd://N (an inherited socket); ' +
      "repeat for several. systemd's socket activation (LISTEN_FDS) sets it to the sockets it passes.",
  }),
  uds: text({
    section: 'Server',
    metavar: 'PATH',
    optional: true,
    default: '',
    help: 'Listen on this unix socket too (same as --bind unix:PATH). A socket file left by a dead server is replaced; a live one is not.',
  }),
  udsMode: text({
    section: 'Server',
    metavar: 'OCTAL',
    default: '666',
    check: (value) => {
      if (!/^0?[0-7]{3}$/.test(value)) throw new Error(`takes permission bits in octal, like 660; got ${JSON.stringify(value)}`);
    },
    help: "Permission bits of unix socket files (a proxy's user must be able to write to it).",
  }),
  fd: integer({
    section: 'Server',
    unit: 'COUNT',
    min: 0,
    max: 65535,
    off: { value: -1, means: 'none' },
    default: -1,
    help: 'Listen on this inherited socket too, already bound by a process manager (same as --bind fd://N).',
  }),
  backlog: integer({
    section: 'Server',
    unit: 'COUNT',
    min: 1,
    max: 65535,
    default: DEFAULT_BACKLOG,
    help: "Connections the kernel queues before they are accepted (capped by net.core.somaxconn); uws keeps uSockets' 512.",
  }),
  backend: choice({
    section: 'Server',
    choices: ['auto', ...BACKEND_NAMES],
    default: 'auto',
    help:
      BACKENDS.map((backend) => `${backend.name}: ${backend.summary}`).join(' ') +
      ` auto: the first of ${AUTO_BACKENDS.join(', ')} that loads here.`,
  }),
  gracefulTimeout: integer({
    section: 'Server',
    unit: 'SECONDS',
    min: 0,
    max: 24 * 3600,
    default: 30,
    help: 'On SIGINT/SIGTERM (or close()), and for every worker that is recycled or reloaded, how long in-flight requests may run before connections are cut.',
  }),
  pid: text({
    section: 'Server',
    processLevel: true,
    metavar: 'FILE',
    optional: true,
    default: '',
    help: "Write the server's pid (the supervisor's, with workers) to FILE; removed at exit.",
  }),
  reusePort: flag({
    section: 'Server',
    default: false,
    help:
      'llhttp, node: each process listens on a socket of its own with SO_REUSEPORT (Node >= 22.12): connections spread evenly over workers, ' +
      'but Linux resets those still queued on a socket that closes (a reload) unless net.ipv4.tcp_migrate_req=1. ' +
      'Off: workers share one socket and its queue. uws always uses SO_REUSEPORT.',
  }),
  // --- TLS -----------------------------------------------------------------------------------
  certfile: text({
    section: 'TLS',
    metavar: 'FILE',
    optional: true,
    default: '',
    help: 'Serve HTTPS with this certificate chain (PEM); needs --keyfile.',
  }),
  keyfile: text({
    section: 'TLS',
    metavar: 'FILE',
    optional: true,
    default: '',
    help: "The certificate's private key (PEM).",
  }),
  keyfilePassword: text({
    section: 'TLS',
    secret: true,
    metavar: 'PASSWORD',
    optional: true,
    default: '',
    help: 'Password of an encrypted --keyfile (prefer the environment variable to the command line).',
  }),
  caCerts: text({
    section: 'TLS',
    metavar: 'FILE',
    optional: true,
    default: '',
    help: 'CA certificates (PEM) for client certificates: clients are asked for one, verified against these.',
  }),
  certReqs: choice({
    section: 'TLS',
    choices: CLIENT_CERT_MODES,
    default: 'optional',
    help: 'With --ca-certs: none (do not ask for client certificates), optional (a client may send none; one it sends must verify), required.',
  }),
  ciphers: text({
    section: 'TLS',
    metavar: 'LIST',
    optional: true,
    default: '',
    help: "OpenSSL cipher list for TLS 1.2 and below (default: Node's).",
  }),
  // --- Proxies -------------------------------------------------------------------------------
  proxyHeaders: flag({
    section: 'Proxies',
    default: true,
    help:
      'Believe X-Forwarded-For, -Proto, -Host, -Port and RFC 7239 Forwarded from peers in --forwarded-allow-ips: the client, ' +
      "scheme and host the app sees are the client's side of those proxies (Forwarded wins over X-Forwarded-* when both come). " +
      'From other peers the headers change nothing.',
  }),
  forwardedAllowIps: list({
    section: 'Proxies',
    metavar: 'ADDRESS',
    default: ['127.0.0.1'],
    envAliases: ['FORWARDED_ALLOW_IPS'],
    item: (value) => void ProxyTrust.parse([value]),
    help: "Proxies trusted for --proxy-headers: addresses, CIDR networks (10.0.0.0/8, fd00::/8), '*' for any peer, 'unix:' for unix-socket peers.",
  }),
  proxyProtocol: flag({
    section: 'Proxies',
    default: false,
    help:
      'Every connection opens with a PROXY protocol header (v1 or v2, from HAProxy or a cloud load balancer) naming the client; ' +
      'connections without a valid one are closed (llhttp, node). Off, such a header is a malformed request.',
  }),
  // --- Workers --------------------------------------------------------------------------------
  workers: integer({
    section: 'Workers',
    processLevel: true,
    unit: 'COUNT',
    min: 1,
    max: 1024,
    word: { text: 'auto', means: "the machine's available parallelism", value: () => availableParallelism() },
    default: 1,
    help: 'Worker processes serving the same address. Above 1 (or with --reload, --max-requests or an explicit --timeout) a supervisor process starts and watches them.',
  }),
  timeout: integer({
    section: 'Workers',
    processLevel: true,
    unit: 'SECONDS',
    min: 1,
    max: 3600,
    off: { value: 0, means: 'off' },
    default: 30,
    help: 'Kill and replace a worker whose event loop has not answered for this long (a sync app stuck in a loop); the log names the request it was serving.',
  }),
  maxRequests: integer({
    section: 'Workers',
    processLevel: true,
    unit: 'COUNT',
    min: 1,
    max: 2 ** 31 - 1,
    off: { value: 0, means: 'never' },
    default: 0,
    help: 'Recycle a worker after this many requests (a bound on slow leaks); its replacement listens before it drains.',
  }),
  maxRequestsJitter: integer({
    section: 'Workers',
    processLevel: true,
    unit: 'COUNT',
    min: 0,
    max: 2 ** 31 - 1,
    default: 0,
    help: 'Add a random 0..J to each worker\'s --max-requests, so workers do not all recycle at once.',
  }),
  reload: flag({
    section: 'Workers',
    processLevel: true,
    default: false,
    help: "Development: restart the worker when a watched file changes; a broken edit keeps the last good worker serving.",
  }),
  reloadDir: list({
    section: 'Workers',
    processLevel: true,
    metavar: 'DIR',
    default: [],
    help: "Directories --reload watches, recursively (default: the app's directory).",
  }),
  reloadInclude: list({
    section: 'Workers',
    processLevel: true,
    metavar: 'GLOB',
    default: ['*.js', '*.mjs', '*.cjs', '*.ts', '*.mts', '*.cts', '*.json'],
    help: 'Files whose change triggers a reload (a glob without / matches the file name, one with / the path under the watched directory).',
  }),
  reloadExclude: list({
    section: 'Workers',
    processLevel: true,
    metavar: 'GLOB',
    default: ['node_modules', '.git', 'dist', 'build', 'coverage'],
    help: 'Files and directories --reload ignores (a glob without / matches any path segment).',
  }),
  // --- App ------------------------------------------------------------------------------------
  interface: choice({
    section: 'App',
    choices: INTERFACES,
    default: 'auto',
    help:
      'App interface: gateway (environ, startResponse), event (scope, receive, send), fetch ((request) => Response, ' +
      'as Hono, Bun and Workers use), node ((req, res) => void, as Express, Koa and connect use), or auto: fetch for ' +
      'an object with a fetch method or a defineFetchApp function, node for an Express, connect or Koa app, ' +
      "event when the app declares itself (defineEventApp(app) or app.tsgiInterface = 'event'), else gateway.",
  }),
  lifespan: choice({
    section: 'App',
    choices: ['auto', 'on', 'off'],
    default: 'auto',
    help: 'Event apps: run lifespan startup/shutdown (on), skip it (off), or auto: go on without it when the app raises on it.',
  }),
  // --- Limits ---------------------------------------------------------------------------------
  maxBodySize: integer({
    section: 'Limits',
    unit: 'BYTES',
    min: 0,
    max: Number.MAX_SAFE_INTEGER,
    default: DEFAULT_MAX_BODY_SIZE,
    help: 'Largest request body buffered for an app that does not stream its input; 413 beyond.',
  }),
  maxHeaderSize: integer({
    section: 'Limits',
    unit: 'BYTES',
    min: 1024,
    max: 1024 * 1024,
    default: DEFAULT_MAX_HEADER_SIZE,
    help: 'Largest request line plus headers; 431 beyond.',
  }),
  limitRequestLine: integer({
    section: 'Limits',
    unit: 'BYTES',
    min: 64,
    max: 1024 * 1024,
    default: DEFAULT_LIMIT_REQUEST_LINE,
    help: 'Longest request line (method, target, version); 414 beyond (431 past --max-header-size).',
  }),
  limitRequestFields: integer({
    section: 'Limits',
    unit: 'COUNT',
    min: 1,
    max: 32768,
    default: DEFAULT_LIMIT_REQUEST_FIELDS,
    help: "Most header fields a request may carry; 431 beyond (uws: at most 98, uWebSockets.js's own limit, which also holds under the default).",
  }),
  limitConcurrency: integer({
    section: 'Limits',
    unit: 'COUNT',
    min: 1,
    max: 2 ** 31 - 1,
    off: { value: 0, means: 'unlimited' },
    default: 0,
    help: 'Most requests (and open websockets) in flight per process; beyond, 503 with Retry-After and the connection closes.',
  }),
  maxRequestsPerConnection: integer({
    section: 'Limits',
    unit: 'COUNT',
    min: 1,
    max: 2 ** 31 - 1,
    off: { value: 0, means: 'unlimited' },
    default: 0,
    help: "Close a keep-alive connection after this many responses (its last says Connection: close), so a client's connections move between processes (llhttp, node).",
  }),
  // --- Timeouts -------------------------------------------------------------------------------
  timeoutKeepAlive: integer({
    section: 'Timeouts',
    unit: 'SECONDS',
    min: 1,
    max: 3600,
    default: DEFAULT_TIMEOUT_KEEP_ALIVE,
    help: 'Close a keep-alive connection idle this long between requests (llhttp, node; uws keeps its own ~10 s).',
  }),
  timeoutHead: integer({
    section: 'Timeouts',
    unit: 'SECONDS',
    min: 1,
    max: 3600,
    default: DEFAULT_TIMEOUT_HEAD,
    help: 'A request head must arrive within this long of its first byte, else 408 and close: slowloris (llhttp, node).',
  }),
  timeoutBody: integer({
    section: 'Timeouts',
    unit: 'SECONDS',
    min: 1,
    max: 3600,
    default: DEFAULT_TIMEOUT_BODY,
    help: 'A request body the app is waiting for may stall this long, else 408 (or a cut connection) (llhttp, node).',
  }),
  // --- Websockets -----------------------------------------------------------------------------
  wsMaxMessageSize: integer({
    section: 'Websockets',
    unit: 'BYTES',
    min: 1,
    max: 2 ** 31 - 1,
    default: 16 * 1024 * 1024,
    help: 'Largest websocket message a client may send; the connection is closed with 1009 beyond.',
  }),
  wsIdleTimeout: integer({
    section: 'Websockets',
    unit: 'SECONDS',
    // uWebSockets.js accepts 0 (off) or 8 s and more, with a 4 s resolution; every backend obeys the same rule.
    min: 8,
    max: 960,
    off: { value: 0, means: 'never' },
    default: 120,
    help: 'Close a websocket silent for this long (4 s resolution).',
  }),
  wsPing: flag({
    section: 'Websockets',
    default: true,
    help: 'Ping silent websocket clients, so live ones stay connected through the idle timeout (--no-ws-ping: never ping).',
  }),
  wsMaxBackpressure: integer({
    section: 'Websockets',
    unit: 'BYTES',
    min: 1024,
    max: 2 ** 31 - 1,
    default: 1024 * 1024,
    help: "Bytes a websocket may have queued for a slow client before the app's send() waits.",
  }),
  // --- Logging --------------------------------------------------------------------------------
  logLevel: choice({
    section: 'Logging',
    choices: LOG_LEVELS,
    default: 'info',
    help: 'Error-log threshold (stderr).',
  }),
  accessLog: flag({
    section: 'Logging',
    default: false,
    help: 'Write one line per response (--access-log-format) to --access-logfile, stdout by default.',
  }),
  accessLogfile: text({
    section: 'Logging',
    metavar: 'PATH|-',
    optional: true,
    default: '',
    help: "Write the access log to this file ('-': stdout); giving it turns the access log on. Reopened on USR1 (logrotate).",
  }),
  accessLogFormat: text({
    section: 'Logging',
    metavar: 'FORMAT',
    default: 'common',
    check: (value) => void compileAccessFormat(value),
    help:
      "common, combined (plus Referer and User-Agent), json (one object per line, with duration_ms and pid), or a template of gunicorn's " +
      'atoms: %(h)s client, %(r)s request line, %(s)s status, %(b)s bytes, %(D)s microseconds, %(a)s user agent, %(p)s pid, ' +
      '%({header}i)s and %({header}o)s request and response headers, and more (README).',
  }),
  errorLogfile: text({
    section: 'Logging',
    metavar: 'PATH|-',
    optional: true,
    default: '',
    help: "Write the error log to this file instead of stderr ('-': stderr). Reopened on USR1 (logrotate).",
  }),
  metricsBind: text({
    section: 'Logging',
    metavar: 'HOST:PORT',
    optional: true,
    default: '',
    check: (value) => void parseMetricsBind(value),
    help:
      'Serve Prometheus metrics at /metrics and a health check at /healthz (200 while serving, 503 while draining) on this address, ' +
      "apart from the app's; with workers the supervisor serves them, summed over its workers.",
  }),
  debug: flag({
    section: 'Logging',
    default: false,
    help: 'Show stack traces in 500 responses. Never in production.',
  }),
} as const;

export type SettingName = keyof typeof SETTINGS;
type ValueOf<S> = S extends Common<infer T> ? T : never;
/** Every setting's resolved value. */
export type Settings = { readonly [K in SettingName]: ValueOf<(typeof SETTINGS)[K]> };

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** The settings `serve()` takes: everything but the process-level ones. */
export const SERVER_SETTING_NAMES = SETTING_NAMES.filter((name) => (SETTINGS[name] as Setting).processLevel !== true);
export const PROCESS_SETTING_NAMES = SETTING_NAMES.filter((name) => (SETTINGS[name] as Setting).processLevel === true);

/** The settings a server takes (`serve()`'s options), out of the whole set the command resolved. */
export function serverSettingsOf(settings: Settings): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const name of SERVER_SETTING_NAMES) options[name] = settings[name];
  return options;
}

/** How a default reads in --help and the README: lists joined by commas, an unset text as `none`. */
export function defaultText(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return value === '' ? 'none' : String(value);
}

/** `maxBodySize` → `--max-body-size`. */
export function flagOf(name: string): string {
  return `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

/** `maxBodySize` → `TSGI_MAX_BODY_SIZE`. */
export function envOf(name: string): string {
  return `TSGI_${name.replace(/[A-Z]/g, (letter) => `_${letter}`).toUpperCase()}`;
}
