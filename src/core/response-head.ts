/**
 * Validation of what an app passes to `startResponse`: the status line and the header list.
 * Anything that could corrupt the response on the wire (CR/LF injection, framing headers,
 * hop-by-hop headers) is refused here with a message naming the offending value, and the core
 * answers 500 instead of sending it.
 */
import { HOP_BY_HOP_HEADERS, SERVER_SOFTWARE } from '../spec/constants.js';
import type { HeaderPair } from '../spec/types.js';

/** Three digits 200–599, one space, a reason of visible ASCII characters, spaces and tabs. */
const STATUS_LINE = /^[2-5]\d\d [\t\x20-\x7e]+$/;
/** RFC 9110 token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * Field values: visible ASCII, spaces and tabs. No CR, LF, NUL or other controls, and no bytes
 * beyond ASCII: RFC 9110 calls them obsolete, and the backends would encode them differently.
 */
const FIELD_VALUE = /^[\t\x20-\x7e]*$/;
const DIGITS = /^\d{1,15}$/;

export class ResponseHeadError extends TypeError {}

/**
 * A validated response head, ready for a transport. Heads are cached and shared by every
 * response that uses the same status and headers, so nothing here may change after it is built
 * except `wire`, which the transport owning the server fills once.
 */
export interface ResponseHead {
  readonly status: string;
  readonly statusCode: number;
  /** Headers to send, without Content-Length; `Server` added when the app gave none. */
  readonly headers: readonly HeaderPair[];
  /** The app's Content-Length, or -1 when it declared none. */
  readonly declaredLength: number;
  /** The app set its own Date header (transports add a cached one otherwise). */
  readonly hasDate: boolean;
  /** The transport's pre-encoded form of status and headers, built on first use. */
  wire: unknown;
}

export function parseStatus(status: unknown, origin = 'startResponse()'): { status: string; code: number } {
  if (typeof status !== 'string' || !STATUS_LINE.test(status)) {
    throw new ResponseHeadError(
      `${origin} status must be a string like '200 OK' (three digits 200-599, a space, a reason ` +
        `without control characters); got ${JSON.stringify(status)}`,
    );
  }
  return { status, code: (status.charCodeAt(0) - 48) * 100 + (status.charCodeAt(1) - 48) * 10 + (status.charCodeAt(2) - 48) };
}

/** Checks the app's status and headers and builds the head to send (uncached). */
/** `origin` names what the app called, for error messages (`startResponse()`, `http.response.start`). */
export function buildResponseHead(status: unknown, headers: unknown, origin = 'startResponse()'): ResponseHead {
  const parsed = parseStatus(status, origin);
  if (!Array.isArray(headers)) {
    throw new ResponseHeadError(
      `${origin} headers must be an array of [name, value] string pairs; got ${describe(headers)}`,
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
        `${origin} header #${i} must be a [name, value] pair of strings; got ${describe(pair)}`,
      );
    }
    const name: string = pair[0];
    const value: string = pair[1];
    if (!TOKEN.test(name)) {
      throw new ResponseHeadError(`${origin} header name ${JSON.stringify(name)} is not a valid HTTP token`);
    }
    if (!FIELD_VALUE.test(value)) {
      throw new ResponseHeadError(
        `${origin} header ${name} has a value with CR, LF, NUL, another control character or a ` +
          `non-ASCII character: ${JSON.stringify(value)}. Encode it (e.g. percent- or RFC 8187-encoding).`,
      );
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP_HEADERS.has(lower)) {
      throw new ResponseHeadError(
        `${origin} header ${name} is hop-by-hop: connection management and framing belong to the ` +
          `server. Remove it; tsgi chooses keep-alive, Content-Length or chunked encoding itself.`,
      );
    }
    if (lower === 'content-length') {
      if (!DIGITS.test(value)) {
        throw new ResponseHeadError(`${origin} Content-Length must be a non-negative integer; got ${JSON.stringify(value)}`);
      }
      const length = Number(value);
      if (declaredLength !== -1 && declaredLength !== length) {
        throw new ResponseHeadError(`${origin} got two different Content-Length headers (${declaredLength} and ${length})`);
      }
      declaredLength = length;
      continue;
    }
    if (lower === 'date') hasDate = true;
    else if (lower === 'server') hasServer = true;
    // A copy: the app may reuse or mutate its own arrays after this call.
    out.push([name, value]);
  }
  if (!hasServer) out.push(SERVER_HEADER);
  return { status: parsed.status, statusCode: parsed.code, headers: out, declaredLength, hasDate, wire: null };
}

const SERVER_HEADER: HeaderPair = Object.freeze(['Server', SERVER_SOFTWARE]) as HeaderPair;

/** How many distinct heads a server remembers; apps tend to answer with a handful. */
const CACHE_SLOTS = 8;

interface CacheEntry {
  status: string;
  /** The app's names and values, flattened: name0, value0, name1, value1, … */
  fields: string[];
  head: ResponseHead;
}

/**
 * Remembers validated heads. A hit needs the same status string and the same names and values in
 * the same order, compared with ===: identical string constants compare by pointer, so a hit costs
 * a few comparisons instead of validation and encoding. Content equality is what makes reuse
 * safe, not the identity of the app's arrays, which it may mutate.
 */
export class ResponseHeadCache {
  private readonly entries: CacheEntry[] = [];
  private nextSlot = 0;

  get(status: unknown, headers: unknown, origin?: string): ResponseHead {
    if (typeof status === 'string' && Array.isArray(headers)) {
      const entries = this.entries;
      for (let e = 0; e < entries.length; e++) {
        const entry = entries[e]!;
        if (entry.status === status && matches(entry.fields, headers)) return entry.head;
      }
    }
    const head = buildResponseHead(status, headers, origin);
    this.remember(status as string, headers as HeaderPair[], head);
    return head;
  }

  private remember(status: string, headers: readonly HeaderPair[], head: ResponseHead): void {
    const fields: string[] = [];
    for (let i = 0; i < headers.length; i++) fields.push(headers[i]![0], headers[i]![1]);
    const entry = { status, fields, head };
    if (this.entries.length < CACHE_SLOTS) this.entries.push(entry);
    else {
      this.entries[this.nextSlot] = entry;
      this.nextSlot = (this.nextSlot + 1) % CACHE_SLOTS;
    }
  }
}

function matches(fields: readonly string[], headers: readonly unknown[]): boolean {
  if (fields.length !== headers.length * 2) return false;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i];
    if (!Array.isArray(pair) || pair.length !== 2 || pair[0] !== fields[2 * i] || pair[1] !== fields[2 * i + 1]) return false;
  }
  return true;
}

/** 204 and 304 responses carry no body and announce no length. */
export function isBodiless(statusCode: number): boolean {
  return statusCode === 204 || statusCode === 304;
}

/** An error for the log (or a --debug 500 body): its stack, or what was thrown instead. */
export function stackOf(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return `a non-Error value was thrown: ${describe(error)}`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `a bare ${value.constructor.name} of ${value.byteLength} bytes`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'object') return `an object (${(value as object).constructor?.name ?? 'no prototype'})`;
  return `${typeof value} ${String(value)}`;
}
