/**
 * The syntax rules a response head must follow (docs/spec.md §5, which §10 and §11 reuse for
 * event apps): the status line, header names and values, hop-by-hop headers, Content-Length.
 * The server checks the same things; the validator checks them first so the error names the rule.
 */
import { HOP_BY_HOP_HEADERS } from '../../spec/constants.js';
import { show, type Report } from './violation.js';

/** Three digits 200–599, one space, a reason of visible ASCII characters, spaces and tabs. */
const STATUS_LINE = /^[2-5]\d\d [\t\x20-\x7e]+$/;
/** RFC 9110 token. */
export const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, spaces and tabs: no CR, LF, NUL, other controls, nothing beyond ASCII. */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const DIGITS = /^\d+$/;

/** Where a header list comes from, for rule ids and messages. */
export interface HeaderSource {
  report: Report;
  /** Rule id prefix: `start-response`, `response-start`, `response-trailers`, `websocket-accept`. */
  rule: string;
  section: string;
  /** What the app called, as the message names it: `startResponse()`, `http.response.start`. */
  origin: string;
  /** Event apps may give names and values as Uint8Array (latin1), docs/spec.md §9. */
  allowBytes: boolean;
}

export interface CheckedHeaders {
  pairs: [string, string][];
  /** The declared Content-Length, or -1. */
  contentLength: number;
}

export function checkStatusLine(status: unknown, report: Report): string {
  if (typeof status !== 'string' || !STATUS_LINE.test(status)) {
    throw report(
      'start-response.status',
      '§5',
      'app',
      `startResponse() got the status ${show(status)}, which is not three digits from 200 to 599, a space and a reason ` +
        `phrase of visible ASCII characters`,
      "pass a status line such as '200 OK' or '404 Not Found' (1xx statuses belong to the server)",
    );
  }
  return status;
}

/** Checks a header list (an array for gateway apps, any iterable for event apps) and returns it as string pairs. */
export function checkHeaders(headers: unknown, source: HeaderSource): CheckedHeaders {
  const { report, rule, section, origin } = source;
  const iterable = source.allowBytes
    ? headers !== null && typeof headers === 'object' && typeof (headers as Iterable<unknown>)[Symbol.iterator] === 'function'
    : Array.isArray(headers);
  if (!iterable) {
    throw report(
      `${rule}.headers`,
      section,
      'app',
      `${origin} got headers ${show(headers)}, not ${source.allowBytes ? 'an iterable' : 'an array'} of [name, value] pairs`,
      `pass ${source.allowBytes ? 'an iterable' : 'an array'} of pairs such as [['Content-Type', 'text/plain']]`,
    );
  }
  const pairs: [string, string][] = [];
  let contentLength = -1;
  let index = 0;
  for (const pair of headers as Iterable<unknown>) {
    const name = Array.isArray(pair) && pair.length === 2 ? text(pair[0], source.allowBytes) : null;
    const value = Array.isArray(pair) && pair.length === 2 ? text(pair[1], source.allowBytes) : null;
    if (name === null || value === null) {
      throw report(
        `${rule}.headers`,
        section,
        'app',
        `${origin} header #${index} is ${show(pair)}${Array.isArray(pair) && pair.length === 2 ? ` holding ${show(pair[0])} and ${show(pair[1])}` : ''}, not a [name, value] pair of strings`,
        `give every header as a two-item array of strings${source.allowBytes ? ' (or Uint8Array)' : ''}, e.g. ['Content-Type', 'text/plain']`,
      );
    }
    if (!TOKEN.test(name)) {
      throw report(
        `${rule}.header-name`,
        section,
        'app',
        `${origin} header name ${show(name)} is not an HTTP token`,
        "use letters, digits and !#$%&'*+-.^_`|~ only (no spaces, colons or control characters)",
      );
    }
    if (!FIELD_VALUE.test(value)) {
      throw report(
        `${rule}.header-value`,
        section,
        'app',
        `${origin} header ${name} has the value ${show(value)}, which holds CR, LF, NUL, another control character or a ` +
          `character beyond ASCII`,
        'remove control characters and percent- or RFC 8187-encode anything beyond ASCII',
      );
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower)) {
      throw report(
        `${rule}.hop-by-hop`,
        section,
        'app',
        `${origin} sets the connection-level header ${name}: ${show(value)}`,
        'remove it: the server owns the connection and the framing (keep-alive, Content-Length or chunked)',
      );
    }
    if (lower === 'content-length') {
      const length = DIGITS.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(length)) {
        throw report(
          `${rule}.content-length`,
          section,
          'app',
          `${origin} sets Content-Length to ${show(value)}, which is not a non-negative integer`,
          'give the body length in bytes as decimal digits, or leave Content-Length out',
        );
      }
      if (contentLength !== -1 && contentLength !== length) {
        throw report(
          `${rule}.content-length`,
          section,
          'app',
          `${origin} sets two different Content-Length headers (${contentLength} and ${length})`,
          'send one Content-Length',
        );
      }
      contentLength = length;
    }
    pairs.push([name, value]);
    index++;
  }
  return { pairs, contentLength };
}

function text(part: unknown, allowBytes: boolean): string | null {
  if (typeof part === 'string') return part;
  if (allowBytes && part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1');
  return null;
}
