/**
 * What the server must pass a gateway app (docs/spec.md §2–§4), checked before the app is called:
 * the environ's CGI keys and their syntax, the `tsgi.*` keys, and the shape of `tsgi.input` and
 * `tsgi.errors`. PEP 3333's rules (as wsgiref.validate checks them) where §2 inherits them.
 */
import { TOKEN } from './syntax.js';
import { show, type Report } from './violation.js';

/** CGI keys every environ carries (§2's table without the "only when" rows). */
const REQUIRED = [
  'REQUEST_METHOD',
  'SCRIPT_NAME',
  'PATH_INFO',
  'QUERY_STRING',
  'SERVER_NAME',
  'SERVER_PORT',
  'SERVER_PROTOCOL',
  'REMOTE_ADDR',
  'REMOTE_PORT',
] as const;

/** Upper-case CGI-style keys (`HTTP_*`, `CONTENT_TYPE`, a proxy fixer's `HTTP_X_…`): their values are strings. */
const CGI_KEY = /^[A-Z][A-Z0-9_]*$/;
const PORT = /^\d*$/;
const INPUT_METHODS = ['read', 'readline', 'readlines'] as const;
const ERRORS_METHODS = ['write', 'writelines', 'flush'] as const;
const FLAGS = ['tsgi.multithread', 'tsgi.multiprocess', 'tsgi.run_once'] as const;

export function checkEnviron(environ: unknown, startResponse: unknown, report: Report): asserts environ is Record<string, unknown> {
  const fail = (rule: string, section: string, problem: string, fix: string) => report(rule, section, 'server', problem, fix);
  const proto = environ !== null && typeof environ === 'object' ? Object.getPrototypeOf(environ) : undefined;
  if (proto !== Object.prototype && proto !== null) {
    throw fail(
      'environ.type',
      '§2',
      `the app was called with the environ ${show(environ)}, not a plain object`,
      'pass a plain object of CGI and tsgi.* keys',
    );
  }
  if (typeof startResponse !== 'function') {
    throw fail(
      'start-response.type',
      '§5',
      `the app was called with startResponse ${show(startResponse)}, not a function`,
      'pass startResponse(status, headers, excInfo?) as the second argument',
    );
  }
  const env = environ as Record<string, unknown>;
  for (const key of REQUIRED) {
    if (typeof env[key] !== 'string') {
      throw fail(
        'environ.required',
        '§2',
        `environ.${key} is ${show(env[key])}, not a string`,
        `always set ${key}, as a string ('' where the value is empty)`,
      );
    }
  }
  for (const key of Object.keys(env)) {
    if (CGI_KEY.test(key) && typeof env[key] !== 'string') {
      throw fail(
        'environ.string',
        '§2',
        `environ.${key} is ${show(env[key])}; CGI keys hold strings`,
        `set ${key} to a string (repeated headers joined with ', ')`,
      );
    }
  }
  for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) {
    if (key in env) {
      throw fail(
        'environ.content-headers',
        '§2',
        `environ has ${key} (${show(env[key])})`,
        `put Content-Type and Content-Length only in CONTENT_TYPE and CONTENT_LENGTH`,
      );
    }
  }
  if (env.CONTENT_LENGTH !== undefined && (typeof env.CONTENT_LENGTH !== 'string' || !/^\d+$/.test(env.CONTENT_LENGTH))) {
    throw fail(
      'environ.content-length',
      '§2',
      `environ.CONTENT_LENGTH is ${show(env.CONTENT_LENGTH)}, not decimal digits`,
      "leave CONTENT_LENGTH out when the request has no Content-Length, else set the request's value",
    );
  }
  const method = env.REQUEST_METHOD as string;
  if (!TOKEN.test(method)) {
    throw fail(
      'environ.request-method',
      '§2',
      `environ.REQUEST_METHOD is ${show(method)}, not an HTTP method token`,
      'set the method as sent, e.g. GET',
    );
  }
  const script = env.SCRIPT_NAME as string;
  const path = env.PATH_INFO as string;
  if (script !== '' && (!script.startsWith('/') || script.endsWith('/'))) {
    throw fail(
      'environ.script-name',
      '§2',
      `environ.SCRIPT_NAME is ${show(script)}; it must be '' or start with '/' and not end with '/' (PEP 3333)`,
      "use '' for an app at the root, and move a trailing '/' to the start of PATH_INFO",
    );
  }
  // `OPTIONS *` (asterisk-form) has no path to start with '/'.
  if (path !== '' && !path.startsWith('/') && !(path === '*' && method === 'OPTIONS')) {
    throw fail(
      'environ.path-info',
      '§2',
      `environ.PATH_INFO is ${show(path)}; it must be '' or start with '/'`,
      'set the percent-decoded request path, which starts with /',
    );
  }
  if (script === '' && path === '') {
    throw fail(
      'environ.path-info',
      '§2',
      "environ.SCRIPT_NAME and environ.PATH_INFO are both ''",
      "set PATH_INFO to '/' for a request to the root",
    );
  }
  if (env.SERVER_PROTOCOL !== 'HTTP/1.1' && env.SERVER_PROTOCOL !== 'HTTP/1.0') {
    throw fail('environ.server-protocol', '§2', `environ.SERVER_PROTOCOL is ${show(env.SERVER_PROTOCOL)}`, "set 'HTTP/1.1' or 'HTTP/1.0'");
  }
  for (const key of ['SERVER_PORT', 'REMOTE_PORT']) {
    if (!PORT.test(env[key] as string)) {
      throw fail(
        'environ.port',
        '§2',
        `environ.${key} is ${show(env[key])}, not a port number`,
        "set the port as decimal digits, or '' where there is none",
      );
    }
  }
  const version = env['tsgi.version'];
  if (!Array.isArray(version) || version.length !== 2 || version[0] !== 1 || version[1] !== 0) {
    throw fail('environ.version', '§2', `environ['tsgi.version'] is ${show(version)}`, 'set it to the array [1, 0]');
  }
  const scheme = env['tsgi.url_scheme'];
  if (scheme !== 'http' && scheme !== 'https') {
    throw fail('environ.url-scheme', '§2', `environ['tsgi.url_scheme'] is ${show(scheme)}`, "set 'http' or 'https'");
  }
  const input = env['tsgi.input'] as Record<PropertyKey, unknown> | null | undefined;
  const missingInput = INPUT_METHODS.find((name) => typeof input?.[name] !== 'function') ??
    (typeof input?.[Symbol.asyncIterator] !== 'function' ? '[Symbol.asyncIterator]' : undefined);
  if (missingInput !== undefined) {
    throw fail(
      'environ.input',
      '§3',
      `environ['tsgi.input'] (${show(input)}) has no ${missingInput}() method`,
      'pass an input stream with read, readline, readlines and async iteration (an empty one for a request without a body)',
    );
  }
  const errors = env['tsgi.errors'] as Record<string, unknown> | null | undefined;
  const missingErrors = ERRORS_METHODS.find((name) => typeof errors?.[name] !== 'function');
  if (missingErrors !== undefined) {
    throw fail(
      'environ.errors',
      '§4',
      `environ['tsgi.errors'] (${show(errors)}) has no ${missingErrors}() method`,
      'pass an error stream with write, writelines and flush',
    );
  }
  for (const key of FLAGS) {
    if (typeof env[key] !== 'boolean') {
      throw fail('environ.flags', '§2', `environ['${key}'] is ${show(env[key])}, not a boolean`, `set ${key} to true or false`);
    }
  }
  const rawPath = env['tsgi.raw_path'];
  if (typeof rawPath !== 'string' || rawPath.includes('?')) {
    throw fail(
      'environ.raw-path',
      '§2',
      `environ['tsgi.raw_path'] is ${show(rawPath)}`,
      'set the path exactly as received, percent-encoding intact, without the query',
    );
  }
}
