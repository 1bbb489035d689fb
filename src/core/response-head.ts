/**
 * Validation of what an app passes to `startResponse`: the status line and the header list.
 * Anything that could corrupt the response on the wire (CR/LF injection, framing headers,
 * hop-by-hop headers) is refused here with a message naming the offending value, and the core
 * answers 500 instead of sending it.
 */
import { HOP_BY_HOP_HEADERS, SERVER_SOFTWARE } from '../spec/constants.js';
import type { HeaderPair } from '../spec/types.js';
import { httpDate } from './date.js';

/** Three digits 200–599, one space, a reason of visible characters, spaces and tabs. */
const STATUS_LINE = /^[2-5]\d\d [\t\x20-\x7e\x80-\xff]+$/;
/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: visible Latin-1 characters, spaces and tabs; no CR, LF, NUL or other controls. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const DIGITS = /^\d{1,15}$/;

export class ResponseHeadError extends TypeError {}

/** A validated head, ready for a transport. */
export interface ResponseHead {
  status: string;
  statusCode: number;
  /** Headers to send, without Content-Length; Server and Date added where the app gave none. */
  headers: HeaderPair[];
  /** The app's Content-Length, or -1 when it declared none. */
  declaredLength: number;
}

export function parseStatus(status: unknown): { status: string; code: number } {
  if (typeof status !== 'string' || !STATUS_LINE.test(status)) {
    throw new ResponseHeadError(
      `startResponse() status must be a string like '200 OK' (three digits 200-599, a space, a reason ` +
        `without control characters); got ${JSON.stringify(status)}`,
    );
  }
  return { status, code: (status.charCodeAt(0) - 48) * 100 + (status.charCodeAt(1) - 48) * 10 + (status.charCodeAt(2) - 48) };
}

/**
 * Checks the app's headers and builds the list to send. `transportWritesDate`: the acceptor adds
 * its own Date header (uWebSockets.js does, always), so an app-set Date would be a duplicate.
 */
export function buildResponseHead(status: unknown, headers: unknown, transportWritesDate: boolean): ResponseHead {
  const parsed = parseStatus(status);
  if (!Array.isArray(headers)) {
    throw new ResponseHeadError(
      `startResponse() headers must be an array of [name, value] string pairs; got ${describe(headers)}`,
    );
  }
  const out: HeaderPair[] = [];
  let declaredLength = -1;
  let hasServer = false;
  let hasDate = false;
  for (let i = 0; i < headers.length; i++) {
    const pair: unknown = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new ResponseHeadError(
        `startResponse() header #${i} must be a [name, value] pair of strings; got ${describe(pair)}`,
      );
    }
    const name: string = pair[0];
    const value: string = pair[1];
    if (!TOKEN.test(name)) {
      throw new ResponseHeadError(`startResponse() header name ${JSON.stringify(name)} is not a valid HTTP token`);
    }
    if (!FIELD_VALUE.test(value)) {
      throw new ResponseHeadError(
        `startResponse() header ${name} has a value with CR, LF, NUL, another control character or a ` +
          `character beyond Latin-1: ${JSON.stringify(value)}. Encode it (e.g. percent- or RFC 8187-encoding).`,
      );
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower)) {
      throw new ResponseHeadError(
        `startResponse() header ${name} is hop-by-hop: connection management and framing belong to the ` +
          `server. Remove it; tsgi chooses keep-alive, Content-Length or chunked encoding itself.`,
      );
    }
    if (lower === 'content-length') {
      if (!DIGITS.test(value)) {
        throw new ResponseHeadError(`startResponse() Content-Length must be a non-negative integer; got ${JSON.stringify(value)}`);
      }
      const length = Number(value);
      if (declaredLength !== -1 && declaredLength !== length) {
        throw new ResponseHeadError(`startResponse() got two different Content-Length headers (${declaredLength} and ${length})`);
      }
      declaredLength = length;
      continue;
    }
    if (lower === 'date') {
      hasDate = true;
      if (transportWritesDate) continue;
    } else if (lower === 'server') {
      hasServer = true;
    }
    out.push(pair as unknown as HeaderPair);
  }
  if (!hasServer) out.push(SERVER_HEADER);
  if (!hasDate && !transportWritesDate) out.push(['Date', httpDate()]);
  return { status: parsed.status, statusCode: parsed.code, headers: out, declaredLength };
}

const SERVER_HEADER: HeaderPair = Object.freeze(['Server', SERVER_SOFTWARE]) as HeaderPair;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof value} ${String(value)}`;
}
