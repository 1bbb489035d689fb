/**
 * The TestClient's cookie jar: the part of RFC 6265 a test needs. `Set-Cookie` answers are
 * stored per host; `Path`, `Max-Age`/`Expires` (a past date or `Max-Age=0` deletes) and `Secure`
 * (kept and sent only over https) are honoured; `Domain` only has to match the host (the cookie
 * then stays with that host, subdomains are not modelled); `SameSite` does not apply to a client
 * without sites.
 */

/** One stored cookie, as `client.cookies` shows it. */
export interface TestCookie {
  readonly name: string;
  readonly value: string;
  /** The host that set it. */
  readonly domain: string;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  /** When it expires; null for a session cookie (kept until the client is dropped). */
  readonly expires: Date | null;
}

/** A read-only view of the jar. */
export interface CookieView extends Iterable<TestCookie> {
  /** The value of the cookie called `name` (the one with the longest path when several match). */
  get(name: string): string | undefined;
  has(name: string): boolean;
  readonly size: number;
  /** `{ name: value }` of every live cookie. */
  toJSON(): Record<string, string>;
}

interface StoredCookie extends TestCookie {
  readonly created: number;
  /** Milliseconds since the epoch, or Infinity. */
  readonly expiresAt: number;
}

export class CookieJar {
  private cookies: StoredCookie[] = [];
  private sequence = 0;

  readonly view: CookieView;

  constructor() {
    const jar = this;
    this.view = {
      get: (name) => jar.live().find((cookie) => cookie.name === name)?.value,
      has: (name) => jar.live().some((cookie) => cookie.name === name),
      get size() {
        return jar.live().length;
      },
      toJSON: () => Object.fromEntries(jar.live().reverse().map((cookie) => [cookie.name, cookie.value])),
      [Symbol.iterator]: () => jar.live().map(publicCopy)[Symbol.iterator](),
    };
  }

  /** Stores what a response's `Set-Cookie` headers say, for a request to `host` + `path`. */
  store(setCookies: readonly string[], scheme: 'http' | 'https', host: string, requestPath: string): void {
    for (const line of setCookies) this.storeOne(line, scheme, host.toLowerCase(), requestPath);
  }

  /** The `Cookie` header for a request, or null when no cookie applies. */
  header(scheme: 'http' | 'https', host: string, path: string): string | null {
    const lowerHost = host.toLowerCase();
    const matching = this.live().filter(
      (cookie) => cookie.domain === lowerHost && pathMatches(path, cookie.path) && (!cookie.secure || scheme === 'https'),
    );
    if (matching.length === 0) return null;
    return matching.map((cookie) => `${cookie.name}=${cookie.value}`).join('; ');
  }

  clear(): void {
    this.cookies = [];
  }

  /** Unexpired cookies, longest path first, then oldest first (RFC 6265 §5.4's order). */
  private live(): StoredCookie[] {
    const now = Date.now();
    this.cookies = this.cookies.filter((cookie) => cookie.expiresAt > now);
    return [...this.cookies].sort((a, b) => b.path.length - a.path.length || a.created - b.created);
  }

  private storeOne(line: string, scheme: 'http' | 'https', host: string, requestPath: string): void {
    const parts = line.split(';');
    const pair = parts[0]!;
    const equals = pair.indexOf('=');
    if (equals === -1) return; // RFC 6265 §5.2: a cookie without '=' is ignored
    const name = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    if (name === '') return;
    let path: string | null = null;
    let maxAge: number | null = null;
    let expires: number | null = null;
    let secure = false;
    let httpOnly = false;
    for (const attribute of parts.slice(1)) {
      const at = attribute.indexOf('=');
      const key = (at === -1 ? attribute : attribute.slice(0, at)).trim().toLowerCase();
      const text = at === -1 ? '' : attribute.slice(at + 1).trim();
      if (key === 'path') path = text.startsWith('/') ? text : null;
      else if (key === 'max-age') {
        if (/^-?\d+$/.test(text)) maxAge = Number(text);
      } else if (key === 'expires') {
        const time = Date.parse(text);
        if (!Number.isNaN(time)) expires = time;
      } else if (key === 'domain') {
        const domain = text.replace(/^\./, '').toLowerCase();
        // A cookie for another host is refused, as a browser refuses it.
        if (domain !== '' && domain !== host && !host.endsWith(`.${domain}`)) return;
      } else if (key === 'secure') secure = true;
      else if (key === 'httponly') httpOnly = true;
    }
    // A site reached over plain http may not set (or overwrite) a Secure cookie (RFC 6265bis).
    if (secure && scheme !== 'https') return;
    const cookiePath = path ?? defaultPath(requestPath);
    const expiresAt = maxAge !== null ? (maxAge <= 0 ? -Infinity : Date.now() + maxAge * 1000) : (expires ?? Infinity);
    const existing = this.cookies.findIndex((cookie) => cookie.name === name && cookie.domain === host && cookie.path === cookiePath);
    const created = existing === -1 ? this.sequence++ : this.cookies[existing]!.created;
    if (existing !== -1) this.cookies.splice(existing, 1);
    if (expiresAt <= Date.now()) return; // an expiry in the past deletes the cookie
    this.cookies.push({
      name,
      value,
      domain: host,
      path: cookiePath,
      secure,
      httpOnly,
      expires: Number.isFinite(expiresAt) ? new Date(expiresAt) : null,
      created,
      expiresAt,
    });
  }
}

function publicCopy(cookie: StoredCookie): TestCookie {
  const { name, value, domain, path, secure, httpOnly, expires } = cookie;
  return Object.freeze({ name, value, domain, path, secure, httpOnly, expires });
}

/** RFC 6265 §5.1.4: the directory of the request path. */
function defaultPath(requestPath: string): string {
  if (!requestPath.startsWith('/')) return '/';
  const last = requestPath.lastIndexOf('/');
  return last <= 0 ? '/' : requestPath.slice(0, last);
}

/** RFC 6265 §5.1.4 path-match. */
function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath.charAt(cookiePath.length) === '/';
}
