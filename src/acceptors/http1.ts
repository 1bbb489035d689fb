/**
 * HTTP/1.1 response heads as the backends that write to raw sockets put them on the wire. One
 * writer, so every such answer (an app's response, a refused request, a websocket refusal) gets
 * the same status line, one `Date` (the app's own, else the cached one) and the same framing.
 */
import { httpDate } from '../core/date.js';
import type { ResponseHead } from '../core/response-head.js';
import { serverResponse } from '../core/server-responses.js';
import type { HeaderPair } from '../spec/types.js';

/**
 * `HTTP/1.1 <status>` and the head's headers, each line ending in CRLF, as Latin-1 text. Built
 * once per head and kept in `head.wire` (a head belongs to one server, so to one backend).
 */
export function headLines(head: ResponseHead): string {
  let lines = head.wire as string | null;
  if (lines === null) {
    lines = `HTTP/1.1 ${head.status}\r\n`;
    for (const [name, value] of head.headers) lines += `${name}: ${value}\r\n`;
    head.wire = lines;
  }
  return lines;
}

/** The `Date` line a response needs: none when the app set its own. */
export function dateLine(hasDate: boolean): string {
  return hasDate ? '' : `Date: ${httpDate()}\r\n`;
}

function hasDateHeader(headers: readonly HeaderPair[]): boolean {
  for (const [name] of headers) if (name.length === 4 && name.toLowerCase() === 'date') return true;
  return false;
}

/**
 * A whole response that ends its connection: status, headers (validated, without framing),
 * `Date`, `Content-Length`, `Connection: close`, body. For answers written outside any exchange.
 */
export function closingResponse(status: string, headers: readonly HeaderPair[], body: Uint8Array): Buffer {
  let head = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `${dateLine(hasDateHeader(headers))}Content-Length: ${body.byteLength}\r\nConnection: close\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

/** The server's own answer to a request it refuses before any app sees it (400, 408, 414, 431, 505…). */
export function refusal(code: number, detail?: string): Buffer {
  const response = serverResponse(code, detail);
  return closingResponse(response.head.status, response.head.headers, response.body);
}

/** The status for an llhttp parse error: 431 for an oversized head, 505 for a version it refused, else 400. */
function statusForParseError(code: string | undefined, reason: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  // The same code covers a malformed version ("Expected dot", "Expected CRLF after version").
  if (code === 'HPE_INVALID_VERSION' && reason === 'Invalid HTTP version') return 505;
  return 400;
}

/** The answer to a request llhttp could not parse, naming what it found wrong. */
export function parseErrorRefusal(code: string | undefined, reason: string | undefined): Buffer {
  const what = reason === undefined || reason === '' ? code : `${reason} (${code})`;
  return refusal(statusForParseError(code, reason), `The request could not be parsed: ${what}.`);
}
