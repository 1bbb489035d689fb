/**
 * The options of `cors()` and the policy they resolve to. Everything is checked and precomputed
 * when the app is wrapped: a request only looks values up.
 */
import { compileOrigin, type OriginOption } from './origin.js';

export interface CorsOptions {
  /**
   * Which origins may read responses. `'*'` (default): any, answered with the literal `*`. An
   * origin string (`'https://app.example.com'`), a RegExp tested against the `Origin` header
   * (anchor it: `/^https:\/\/.*\.example\.com$/`), a list of those, or a function
   * `(origin) => boolean`: the request's own origin is echoed back, with `Vary: Origin`.
   */
  origin?: OriginOption;
  /**
   * Methods a preflight may ask for. Default `['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']`;
   * `['*']` allows any method (the requested one is echoed back).
   */
  methods?: readonly string[];
  /**
   * Request headers a preflight may ask for. Default: whatever the preflight asks for is allowed
   * (its `Access-Control-Request-Headers` are echoed back). A list allows those names plus the
   * CORS-safelisted `Accept`, `Accept-Language`, `Content-Language` and `Content-Type`; a
   * preflight asking for others is refused. `['*']` is the same as the default.
   */
  allowHeaders?: readonly string[];
  /** Response headers the page's script may read beyond the safelisted ones. Default none. */
  exposeHeaders?: readonly string[];
  /**
   * Whether the page may send cookies and HTTP authentication and read the answer
   * (`Access-Control-Allow-Credentials: true`). Default `false`. Cannot be combined with
   * `origin: '*'`; use a list, a RegExp or `() => true` to allow any origin with credentials.
   */
  credentials?: boolean;
  /** How long, in seconds, a browser may cache a preflight answer (`Access-Control-Max-Age`). Default: not sent (browsers use 5 s). */
  maxAge?: number;
}

export interface CorsPolicy {
  /** `Access-Control-Allow-Origin: *` for every origin; otherwise the origin is echoed and varies. */
  anyOrigin: boolean;
  allowsOrigin(origin: string): boolean;
  /** Allowed methods, or null for any (echoed). */
  methods: ReadonlySet<string> | null;
  methodsValue: string;
  /** Allowed request header names (lower-case), or null to echo what the preflight asks for. */
  allowHeaders: ReadonlySet<string> | null;
  allowHeadersValue: string;
  exposeHeadersValue: string | null;
  credentials: boolean;
  maxAgeValue: string | null;
}

const NAME = 'cors()';
const DEFAULT_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'];
const SAFELISTED_HEADERS = ['Accept', 'Accept-Language', 'Content-Language', 'Content-Type'];
const ECHOABLE = /^[\x21-\x7e]+$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Option names other middleware use for the same thing, so a mix-up gets a pointed message. */
const ALIASES: Record<string, keyof CorsOptions> = {
  origins: 'origin',
  allowOrigin: 'origin',
  allowOrigins: 'origin',
  allowMethods: 'methods',
  allowedMethods: 'methods',
  allowedHeaders: 'allowHeaders',
  exposedHeaders: 'exposeHeaders',
  allowCredentials: 'credentials',
};
const KNOWN = new Set<string>(['origin', 'methods', 'allowHeaders', 'exposeHeaders', 'credentials', 'maxAge']);

export function corsPolicy(options: CorsOptions | undefined): CorsPolicy {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new TypeError(`${NAME} options must be an object such as { origin: 'https://app.example.com' }; got ${options === null ? 'null' : typeof options}`);
  }
  const given = options ?? {};
  for (const key of Object.keys(given)) {
    if (KNOWN.has(key)) continue;
    const alias = ALIASES[key];
    throw new TypeError(`${NAME} has no option '${key}'` + (alias === undefined ? `; the options are ${[...KNOWN].join(', ')}` : `; did you mean '${alias}'?`));
  }
  const origin = compileOrigin(given.origin);
  const credentials = given.credentials ?? false;
  if (typeof credentials !== 'boolean') throw new TypeError(`${NAME} credentials must be true or false; got ${typeof credentials}`);
  if (credentials && origin.any) {
    throw new TypeError(
      `${NAME} credentials: true cannot be combined with origin '*': browsers refuse credentialed responses that allow every origin. ` +
        `List the allowed origins (or use a RegExp, or origin: () => true to echo any origin back)`,
    );
  }
  const methods = tokens(given.methods ?? DEFAULT_METHODS, 'methods').map((method) => method.toUpperCase());
  const anyMethod = methods.includes('*');
  const headers = given.allowHeaders === undefined ? ['*'] : tokens(given.allowHeaders, 'allowHeaders');
  const anyHeader = headers.includes('*');
  const allowHeaders = anyHeader ? [] : withSafelisted(headers);
  const expose = tokens(given.exposeHeaders ?? [], 'exposeHeaders');
  return {
    anyOrigin: origin.any,
    // An origin is echoed into a response header, which may carry visible ASCII only.
    allowsOrigin: (value) => ECHOABLE.test(value) && origin.allows(value),
    methods: anyMethod ? null : new Set(methods),
    methodsValue: methods.join(', '),
    allowHeaders: anyHeader ? null : new Set(allowHeaders.map((name) => name.toLowerCase())),
    allowHeadersValue: allowHeaders.join(', '),
    exposeHeadersValue: expose.length === 0 ? null : expose.join(', '),
    credentials,
    maxAgeValue: maxAge(given.maxAge),
  };
}

/** A list option whose entries must be HTTP tokens (header names, methods) or `'*'`. */
function tokens(value: unknown, option: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new TypeError(`${NAME} ${option} must be a list of strings; got ${typeof value}`);
  const out: string[] = [];
  for (const entry of list as unknown[]) {
    if (typeof entry !== 'string' || !TOKEN.test(entry.trim())) {
      throw new TypeError(`${NAME} ${option} entries must be header names or methods (HTTP tokens); got ${JSON.stringify(entry)}`);
    }
    out.push(entry.trim());
  }
  return out;
}

/** `names` plus the safelisted headers a browser may list in a preflight (Content-Type with a JSON value). */
function withSafelisted(names: string[]): string[] {
  const lower = new Set(names.map((name) => name.toLowerCase()));
  return [...names, ...SAFELISTED_HEADERS.filter((name) => !lower.has(name.toLowerCase()))];
}

function maxAge(value: unknown): string | null {
  if (value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${NAME} maxAge must be a whole number of seconds (0 or more); got ${JSON.stringify(value)}`);
  }
  return String(value);
}
