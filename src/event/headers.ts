/**
 * Headers as event apps send them: any iterable of `[name, value]` pairs, with names and values as
 * strings or as bytes (`Uint8Array`, read as latin1, ASGI's byte strings). Turned into the
 * gateway's `[string, string][]` so the same validation and head cache apply.
 */
import { STATUS_CODES } from 'node:http';
import type { HeaderPair } from '../spec/types.js';
import type { EventHeader } from '../spec/event-types.js';
import { ProtocolError } from './runtime.js';

function text(part: unknown, where: string): string {
  if (typeof part === 'string') return part;
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1');
  throw new ProtocolError(`${where} must be a string or a Uint8Array; got ${part === null ? 'null' : typeof part}`);
}

const NO_HEADERS: HeaderPair[] = [];

export function toHeaderPairs(headers: unknown, origin: string): HeaderPair[] {
  if (headers === undefined || headers === null) return NO_HEADERS;
  if (typeof headers !== 'object' || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') {
    throw new ProtocolError(`${origin} headers must be an iterable of [name, value] pairs; got ${typeof headers}`);
  }
  const out: HeaderPair[] = [];
  let index = 0;
  for (const pair of headers as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new ProtocolError(`${origin} header #${index} must be a [name, value] pair`);
    }
    // Strings pass through untouched, so the head cache's === comparison still hits.
    out.push([text(pair[0], `${origin} header #${index} name`), text(pair[1], `${origin} header #${index} value`)]);
    index++;
  }
  return out;
}

const statusLines = new Map<number, string>();

/** `200` → `'200 OK'`; the status must be an integer from 200 to 599. */
export function statusLine(status: unknown, origin: string): string {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new ProtocolError(`${origin} status must be an integer from 200 to 599; got ${JSON.stringify(status)}`);
  }
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

/** A request header of a scope by lower-case name, repeated ones joined with ', '. */
export function headerOf(headers: readonly EventHeader[], lowerName: string): string | undefined {
  let found: string | undefined;
  for (const [name, value] of headers) if (name === lowerName) found = found === undefined ? value : `${found}, ${value}`;
  return found;
}
