/** The `Location` of the trailing-slash redirect for a directory. */

const PATH_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;

/** Percent-encodes a decoded path as UTF-8, keeping the characters a path may hold as they are. */
function encodePath(decoded: string): string {
  let out = '';
  for (const ch of decoded) {
    if (PATH_SAFE.test(ch)) out += ch;
    else {
      try {
        out += encodeURIComponent(ch);
      } catch {
        out += '%EF%BF%BD'; // a lone surrogate: U+FFFD, as the server decodes bad UTF-8
      }
    }
  }
  return out;
}

/** The raw query as received (bytes as Latin-1 characters), with anything not visible ASCII escaped. */
function encodeQuery(raw: string): string {
  let out = '';
  for (const ch of raw) {
    const code = ch.codePointAt(0)!;
    if (code > 0x20 && code < 0x7f && ch !== '#') out += ch;
    else if (code <= 0xff) out += '%' + code.toString(16).toUpperCase().padStart(2, '0');
    else out += encodeURIComponent(ch);
  }
  return out;
}

/**
 * `mount` is where the app is mounted (SCRIPT_NAME / root_path) and `requestPath` the decoded
 * path under it, so the redirect is right behind a prefix. The result is absolute-path only (no
 * host, which the client knows better than we do behind proxies) and never starts with `//`,
 * which a browser would read as another host.
 */
export function directoryLocation(mount: string, requestPath: string, query: string): string {
  let location = encodePath(`${mount}${requestPath}/`).replace(/^\/+/, '/');
  if (!location.startsWith('/')) location = '/' + location;
  return query === '' ? location : `${location}?${encodeQuery(query)}`;
}
