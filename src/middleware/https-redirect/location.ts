/**
 * The https URL a plain-http request is sent to: the same host, path and query. The path is
 * taken from the raw request path where it still describes the same path, so an encoded `%2F`
 * stays `%2F` instead of becoming a `/` that would route elsewhere.
 */
import { formatHost, parseHost } from '../shared/host.js';

/** What a request says about its own URL, from an environ or a scope. */
export interface RequestUrl {
  /** The `Host` header, if any. */
  host: string | undefined;
  /** Where the server listens (`SERVER_NAME`/`SERVER_PORT`, `scope.server`): used without a `Host`. */
  serverName: string;
  serverPort: string;
  /** `SCRIPT_NAME` / `root_path`: the decoded mount prefix. */
  scriptName: string;
  /** `PATH_INFO` / `path`: the decoded path below the mount prefix. */
  pathInfo: string;
  /** `tsgi.raw_path` / `raw_path`: `pathInfo` as sent, percent-encoding intact. */
  rawPath: unknown;
  /** The query as sent, without `?`. */
  query: string;
}

/** The `Location` for `url` on https, or null when the request names no usable host. */
export function httpsLocation(url: RequestUrl, httpsPort: string | null): string | null {
  const host = parseHost(url.host) ?? (url.host === undefined ? parseHost(serverAuthority(url)) : null);
  if (host === null) return null;
  const port = httpsPort ?? (host.port === '80' || host.port === '443' ? '' : host.port);
  let path = encodePath(url.scriptName) + (rawMatches(url.rawPath, url.pathInfo) ? escapeRaw(url.rawPath) : encodePath(url.pathInfo));
  if (!path.startsWith('/')) path = '/' + path;
  const query = url.query === '' ? '' : '?' + escapeRaw(url.query);
  return `https://${formatHost(host, port)}${path}${query}`;
}

function serverAuthority(url: RequestUrl): string | undefined {
  if (url.serverName === '' || url.serverName.startsWith('/')) return undefined; // a unix socket names no host
  const name = url.serverName.includes(':') ? `[${url.serverName}]` : url.serverName;
  return url.serverPort === '' ? name : `${name}:${url.serverPort}`;
}

// RFC 3986 pchar and '/': what may stand in a path unencoded.
const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/** A decoded path as it must appear in a URL: everything else percent-encoded as UTF-8. */
export function encodePath(decoded: string): string {
  let out = '';
  for (const char of decoded) {
    if (char.length === 1 && PATH_SAFE.test(char)) out += char;
    else for (const byte of Buffer.from(char, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * A raw path or query as it may go into a header: it is already percent-encoded, but a client may
 * have sent bytes a header value cannot carry (spaces, controls, raw non-ASCII bytes, which the
 * contract gives as Latin-1 characters). Those are percent-encoded byte for byte; `#` too, which
 * would start a fragment.
 */
function escapeRaw(raw: string): string {
  let out = '';
  for (const char of raw) {
    const code = char.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && char !== '#') out += char;
    else for (const byte of code <= 0xff ? [code] : Buffer.from(char, 'utf8')) out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * Whether `raw` still is the raw form of `decoded`. A middleware in front may have rewritten the
 * path without its raw form; then the decoded path is the truth and gets encoded afresh.
 */
function rawMatches(raw: unknown, decoded: string): raw is string {
  return typeof raw === 'string' && decodePath(raw) === decoded;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Percent-decoding as the contract defines PATH_INFO: bad escapes stay literal, bad UTF-8 becomes U+FFFD. */
function decodePath(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    const bytes: number[] = [];
    const source = Buffer.from(raw, 'utf8');
    for (let i = 0; i < source.length; i++) {
      const high = hexValue(source[i + 1]);
      const low = hexValue(source[i + 2]);
      if (source[i] === 0x25 && high >= 0 && low >= 0) {
        bytes.push(high * 16 + low);
        i += 2;
      } else {
        bytes.push(source[i]!);
      }
    }
    return utf8.decode(Uint8Array.from(bytes));
  }
}

function hexValue(code: number | undefined): number {
  if (code === undefined) return -1;
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x41 && code <= 0x46) return code - 0x37;
  if (code >= 0x61 && code <= 0x66) return code - 0x57;
  return -1;
}
