/**
 * When a response is compressed, from its status and headers alone (the same rules for both
 * interfaces), and the headers of a compressed response.
 */
import { withVary } from '../shared/headers.js';
import { isCompressibleType } from './compressible.js';

/** judgeResponse(): leave this response alone entirely (no compression, no Vary). */
export const SKIP = -2;
/** judgeResponse(): compressible, of unknown size. */
export const UNKNOWN_SIZE = -1;

/**
 * SKIP for a response that must go out as it is: a status without a body of its own (1xx,
 * 204, 304, or one outside 200–599, which the server refuses anyway) or a partial one (206, whose byte ranges refer to the uncompressed body), one
 * already encoded, one whose Cache-Control forbids transformation (`no-transform`), one without
 * a compressible Content-Type, and one whose Content-Length is below `minSize`. Otherwise the
 * declared Content-Length, or UNKNOWN_SIZE.
 */
export function judgeResponse(status: number, headers: readonly unknown[], minSize: number): number {
  // NaN (a malformed status line) is skipped too: the server reports it.
  if (!(status >= 200 && status <= 599) || status === 204 || status === 206 || status === 304) return SKIP;
  let compressibleType = false;
  let length = UNKNOWN_SIZE;
  for (const pair of headers) {
    // A malformed list goes to the server untouched, whose startResponse names what is wrong.
    if (!Array.isArray(pair)) return SKIP;
    const name: unknown = pair[0];
    const value: unknown = pair[1];
    if (typeof name !== 'string' || typeof value !== 'string') return SKIP;
    // Compare lengths first: most headers are none of these four, and lower-casing every name
    // would allocate on every response.
    switch (name.length) {
      case 12:
        if (name.toLowerCase() === 'content-type') {
          if (!isCompressibleType(value)) return SKIP;
          compressibleType = true;
        }
        break;
      case 13:
        if (name.toLowerCase() === 'cache-control' && /no-transform/i.test(value)) return SKIP;
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          const text = value.trim();
          if (/^\d+$/.test(text)) {
            length = Number(text);
            if (length < minSize) return SKIP;
          }
        }
        break;
      case 16:
        if (name.toLowerCase() === 'content-encoding') return SKIP;
        break;
    }
  }
  // Without a Content-Type nobody knows what the bytes are; guessing could corrupt a format
  // the client expects raw.
  return compressibleType ? length : SKIP;
}

/** The status code of a gateway status line (`'200 OK'` → 200); NaN when it is not one. */
export function statusCodeOf(status: string): number {
  if (typeof status !== 'string' || status.length < 3) return Number.NaN;
  // Digit arithmetic rather than Number(slice): no string allocated per response.
  const a = status.charCodeAt(0) - 48;
  const b = status.charCodeAt(1) - 48;
  const c = status.charCodeAt(2) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9 || c < 0 || c > 9) return Number.NaN;
  return a * 100 + b * 10 + c;
}

/** `headers` plus `Vary: Accept-Encoding`: the body depends on that request header. */
export function varyHeaders(headers: Iterable<readonly [string, string]>): [string, string][] {
  return withVary(headers, 'Accept-Encoding');
}

/**
 * The headers of the compressed response: `Content-Encoding` added, the old `Content-Length`
 * replaced by `length` (or dropped when it is unknown, -1: the server then frames the body
 * itself), a strong `ETag` made weak (the bytes differ from the uncompressed representation's,
 * so a strong validator would claim byte equality it no longer has), and `Vary`.
 */
export function compressedHeaders(headers: Iterable<readonly [string, string]>, encoding: string, length: number): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === 'content-length') continue;
    if (lower === 'etag' && value.trimStart().startsWith('"')) out.push([name, `W/${value.trimStart()}`]);
    else out.push([name, value]);
  }
  out.push(['Content-Encoding', encoding]);
  if (length >= 0) out.push(['Content-Length', String(length)]);
  return varyHeaders(out);
}
