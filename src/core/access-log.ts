/**
 * Access-log lines. The default is the Common Log Format, as Apache, nginx and gunicorn write it:
 *   127.0.0.1 - - [21/Nov/2026:07:21:39 +0000] "GET /path?q=1 HTTP/1.1" 200 13
 * A response cut short logs the status the server had started to send and the body bytes it
 * wrote; a request that never got a status logs `-`.
 *
 * compileAccessFormat() turns a format into a function once, at start-up: the presets `common`,
 * `combined` (common plus the quoted Referer and User-Agent) and `json` (one object per line), or
 * a template of gunicorn's `%(name)s` atoms. A template is split into literal text and one
 * closure per atom, so writing a line is a loop of string concatenations: no parsing and no regex
 * per request. The presets are written out as single functions (the same lines as their templates).
 *
 * Whatever the client chose (the address a proxy header gave, the method, the target, header
 * values, the Basic user) is escaped as JSON escapes a string's contents, so a client can neither
 * close a quoted field nor start a new line.
 */

/** Everything one access-log line may show; filled by the server after a response ends. */
export interface AccessEntry {
  /** The client (after proxy headers). */
  remoteAddress: string;
  /** '' when unknown. */
  remotePort: string;
  method: string;
  rawPath: string;
  query: string;
  /** Like 'HTTP/1.1'. */
  protocol: string;
  /** 0 = no status was sent (logged as '-'). */
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** From the request head parsed to the response's end. */
  durationMicros: number;
  /** Date.now() at the request's start (for the timestamp). */
  startMs: number;
  pid: number;
  requestHeader(lowerName: string): string | undefined;
  responseHeader(lowerName: string): string | undefined;
}

/** One line, no trailing newline. */
export type AccessFormatter = (entry: AccessEntry) => string;

export const ACCESS_LOG_FORMATS = ['common', 'combined', 'json'] as const;

// --- timestamps --------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(value: number): string {
  return value < 10 ? `0${value}` : String(value);
}

/**
 * A string per second, remembered for the last two seconds asked for: lines are written when
 * responses end, so a slow request's start second and the current one take turns.
 */
class SecondCache {
  private secondA = -1;
  private stampA = '';
  private secondB = -1;
  private stampB = '';

  constructor(private readonly render: (d: Date) => string) {}

  get(second: number): string {
    if (second === this.secondA) return this.stampA;
    if (second === this.secondB) return this.stampB;
    const stamp = this.render(new Date(second * 1000));
    this.secondB = this.secondA;
    this.stampB = this.stampA;
    this.secondA = second;
    this.stampA = stamp;
    return stamp;
  }
}

const clfSeconds = new SecondCache(
  (d) =>
    `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`,
);

/** `2026-11-21T07:21:39.` — the ISO 8601 time up to its milliseconds. */
const isoSeconds = new SecondCache((d) => d.toISOString().slice(0, 20));

/** `21/Nov/2026:07:21:39 +0000` (UTC), cached per second. */
export function clfTimestamp(nowMs: number = Date.now()): string {
  return clfSeconds.get(Math.floor(nowMs / 1000));
}

/** `2026-11-21T07:21:39.123Z`, the second's part cached. */
function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  const milli = Math.floor(ms - second * 1000);
  const tail = milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : String(milli);
  return `${isoSeconds.get(second)}${tail}Z`;
}

// --- escaping ----------------------------------------------------------------------------------

/**
 * The string as JSON.stringify(value).slice(1, -1) writes it: control characters, `"`, `\` and
 * lone surrogates escaped. Most values need nothing, and a scan is cheaper than JSON.stringify.
 */
function escapeField(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)) {
      return JSON.stringify(value).slice(1, -1);
    }
  }
  return value;
}

/** A client-supplied value for a text line: escaped, or `-` when absent or empty. */
function textOrDash(value: string | undefined): string {
  return value === undefined || value === '' ? '-' : escapeField(value);
}

/** A client-supplied value for a JSON line: a JSON string, or null when absent. */
function jsonOrNull(value: string | undefined): string {
  return value === undefined ? 'null' : `"${escapeField(value)}"`;
}

// --- atoms -------------------------------------------------------------------------------------

type Atom = (entry: AccessEntry) => string;

function requestTarget(entry: AccessEntry): string {
  return entry.query === '' ? entry.rawPath : `${entry.rawPath}?${entry.query}`;
}

/** The user part of an `Authorization: Basic` header, or undefined. */
function basicUser(entry: AccessEntry): string | undefined {
  const header = entry.requestHeader('authorization');
  if (header === undefined || header.length < 6) return undefined;
  if (header.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon > 0 ? decoded.slice(0, colon) : undefined;
}

const ATOMS: Readonly<Record<string, Atom>> = {
  h: (e) => escapeField(e.remoteAddress),
  l: () => '-',
  u: (e) => textOrDash(basicUser(e)),
  t: (e) => `[${clfTimestamp(e.startMs)}]`,
  r: (e) => `${escapeField(e.method)} ${escapeField(requestTarget(e))} ${escapeField(e.protocol)}`,
  m: (e) => escapeField(e.method),
  U: (e) => escapeField(e.rawPath),
  q: (e) => escapeField(e.query),
  H: (e) => escapeField(e.protocol),
  s: (e) => (e.status === 0 ? '-' : String(e.status)),
  B: (e) => String(e.bytes),
  b: (e) => (e.bytes === 0 ? '-' : String(e.bytes)),
  f: (e) => textOrDash(e.requestHeader('referer')),
  a: (e) => textOrDash(e.requestHeader('user-agent')),
  T: (e) => String(Math.floor(e.durationMicros / 1_000_000)),
  D: (e) => String(Math.round(e.durationMicros)),
  M: (e) => String(Math.floor(e.durationMicros / 1000)),
  L: (e) => (e.durationMicros / 1_000_000).toFixed(6),
  p: (e) => `<${e.pid}>`,
};

const VALID_ATOMS =
  Object.keys(ATOMS)
    .map((name) => `%(${name})s`)
    .join(' ') + ' %({header}i)s %({header}o)s, and %% for a literal %';

function atomError(what: string, format: string): Error {
  return new Error(`access-log format ${JSON.stringify(format)}: ${what}; valid atoms: ${VALID_ATOMS}`);
}

// --- compiling ---------------------------------------------------------------------------------

/**
 * A template split into literals and atoms: literals[0] + atoms[0](e) + literals[1] + ... +
 * literals[n]; literals always has one more element than atoms.
 */
interface CompiledTemplate {
  literals: string[];
  atoms: Atom[];
}

function parseTemplate(format: string): CompiledTemplate {
  const literals: string[] = [];
  const atoms: Atom[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const percent = format.indexOf('%', i);
    if (percent === -1) {
      text += format.slice(i);
      break;
    }
    text += format.slice(i, percent);
    const next = format[percent + 1];
    if (next === '%') {
      text += '%';
      i = percent + 2;
      continue;
    }
    if (next !== '(') {
      // A lone %, or % before anything else, is text.
      text += '%';
      i = percent + 1;
      continue;
    }
    let atom: Atom;
    let end: number; // the index of the ')' that closes the reference
    if (format[percent + 2] === '{') {
      const close = format.indexOf('}', percent + 3);
      const kind = close === -1 ? undefined : format[close + 1];
      const name = close === -1 ? '' : format.slice(percent + 3, close).trim().toLowerCase();
      if (close === -1 || (kind !== 'i' && kind !== 'o') || format[close + 2] !== ')' || name === '') {
        const shown = close === -1 ? format.slice(percent) : format.slice(percent, close + 4);
        throw atomError(`${JSON.stringify(shown)} is not a header atom (write %({Header-Name}i)s or %({Header-Name}o)s)`, format);
      }
      atom = kind === 'i' ? (e) => textOrDash(e.requestHeader(name)) : (e) => textOrDash(e.responseHeader(name));
      end = close + 2;
    } else {
      end = format.indexOf(')', percent + 2);
      if (end === -1) {
        throw atomError(`${JSON.stringify(format.slice(percent))} is not closed (write %(name)s)`, format);
      }
      const name = format.slice(percent + 2, end);
      const known = Object.hasOwn(ATOMS, name) ? ATOMS[name] : undefined;
      if (known === undefined) {
        throw atomError(`unknown atom ${JSON.stringify(name)}`, format);
      }
      atom = known;
    }
    if (format[end + 1] !== 's') {
      throw atomError(`${JSON.stringify(format.slice(percent, end + 2))} must end in ")s"`, format);
    }
    literals.push(text);
    atoms.push(atom);
    text = '';
    i = end + 2;
  }
  literals.push(text);
  return { literals, atoms };
}

function formatterOf(format: string): AccessFormatter {
  const { literals, atoms } = parseTemplate(format);
  if (atoms.length === 0) {
    // Every line would be the same text: most likely a misspelt preset.
    throw new Error(
      `access-log format ${JSON.stringify(format)} is neither a preset (${ACCESS_LOG_FORMATS.join(', ')}) ` +
        `nor a template with any atom; valid atoms: ${VALID_ATOMS}`,
    );
  }
  const count = atoms.length;
  const first = literals[0]!;
  return (entry) => {
    let line = first;
    for (let k = 0; k < count; k++) line += atoms[k]!(entry) + literals[k + 1]!;
    return line;
  };
}

/**
 * The common line, written out rather than run through the template loop: it is the default.
 * The same as the template `%(h)s - - %(t)s "%(r)s" %(s)s %(B)s`.
 */
function commonLine(
  remote: string,
  method: string,
  rawPath: string,
  query: string,
  protocol: string,
  status: number,
  bytes: number,
  startMs: number,
): string {
  const target = query === '' ? rawPath : `${rawPath}?${query}`;
  return (
    `${escapeField(remote)} - - [${clfTimestamp(startMs)}] ` +
    `"${escapeField(method)} ${escapeField(target)} ${escapeField(protocol)}" ` +
    `${status === 0 ? '-' : String(status)} ${bytes}`
  );
}

const formatCommon: AccessFormatter = (e) =>
  commonLine(e.remoteAddress, e.method, e.rawPath, e.query, e.protocol, e.status, e.bytes, e.startMs);

/** Common plus the quoted Referer and User-Agent, as Apache's and nginx's combined format. */
const formatCombined: AccessFormatter = (e) =>
  `${formatCommon(e)} "${textOrDash(e.requestHeader('referer'))}" "${textOrDash(e.requestHeader('user-agent'))}"`;

/** One JSON object per line, its keys always present and always in this order. */
const formatJson: AccessFormatter = (e) =>
  `{"time":"${isoTimestamp(e.startMs)}"` +
  `,"remote_addr":"${escapeField(e.remoteAddress)}"` +
  `,"remote_port":${portOrNull(e.remotePort)}` +
  `,"method":"${escapeField(e.method)}"` +
  `,"path":"${escapeField(e.rawPath)}"` +
  `,"query":"${escapeField(e.query)}"` +
  `,"protocol":"${escapeField(e.protocol)}"` +
  `,"status":${e.status === 0 ? 'null' : e.status}` +
  `,"bytes":${e.bytes}` +
  `,"duration_ms":${(e.durationMicros / 1000).toFixed(3)}` +
  `,"pid":${e.pid}` +
  `,"referer":${jsonOrNull(e.requestHeader('referer'))}` +
  `,"user_agent":${jsonOrNull(e.requestHeader('user-agent'))}}`;

/** The port as a JSON number, or null when unknown (or not a port number). */
function portOrNull(port: string): string {
  if (port === '') return 'null';
  const n = Number(port);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? String(n) : 'null';
}

/**
 * 'common' | 'combined' | 'json' | a template of gunicorn atoms, compiled once. Throws an Error
 * whose message names the unknown atom and lists the valid ones.
 */
export function compileAccessFormat(format: string): AccessFormatter {
  switch (format) {
    case 'common':
      return formatCommon;
    case 'combined':
      return formatCombined;
    case 'json':
      return formatJson;
    default:
      return formatterOf(format);
  }
}
