/**
 * Reading request headers from either interface and editing response header lists, the same way
 * in every middleware. Response headers are `[name, value]` pairs whose names may come in any
 * case; lookups ignore case.
 */
import { cgiKey } from '../../core/environ.js';
import { headerOf } from '../../event/headers.js';
import type { EventHeader, HttpScope, WebSocketScope } from '../../spec/event-types.js';
import type { Environ, HeaderPair } from '../../spec/types.js';

/** A request header from an environ (`content-type` → CONTENT_TYPE, `x-a` → HTTP_X_A). */
export function environHeader(environ: Environ, lowerName: string): string | undefined {
  if (lowerName === 'content-type') return environ.CONTENT_TYPE;
  if (lowerName === 'content-length') return environ.CONTENT_LENGTH;
  // The server's own mapping, with its cache of keys.
  const key = cgiKey(lowerName);
  const value = environ[key];
  return typeof value === 'string' ? value : undefined;
}

/** A request header from a scope; repeated headers joined with `, ` as in an environ. */
export function scopeHeader(scope: HttpScope | WebSocketScope, lowerName: string): string | undefined {
  return headerOf(scope.headers, lowerName);
}

/** The first response header called `name` (any case), or undefined. */
export function findHeader(headers: Iterable<readonly [string, string]>, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of headers) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** `headers` without any header called one of `names` (lower-case). */
export function withoutHeaders(headers: Iterable<readonly [string, string]>, ...names: string[]): [string, string][] {
  const drop = new Set(names);
  const kept: [string, string][] = [];
  for (const [key, value] of headers) if (!drop.has(key.toLowerCase())) kept.push([key, value]);
  return kept;
}

/**
 * `headers` with `token` in `Vary`: appended to an existing `Vary` unless already listed (or
 * `*`), else added as a new header. Runs on every response of cors() and compress(), so it
 * lower-cases only names of the right length and copies only the pair it changes.
 */
export function withVary(headers: Iterable<readonly [string, string]>, token: string): [string, string][] {
  const out: [string, string][] = [];
  let seen = false;
  for (const pair of headers) {
    const key = pair[0];
    if (!seen && key.length === 4 && key.toLowerCase() === 'vary') {
      seen = true;
      out.push([key, varyWith(pair[1], token)]);
    } else {
      out.push(pair as [string, string]);
    }
  }
  if (!seen) out.push(['Vary', token]);
  return out;
}

function varyWith(value: string, token: string): string {
  const wanted = token.toLowerCase();
  const listed = value.split(',').map((part) => part.trim().toLowerCase());
  if (listed.includes(wanted) || listed.includes('*')) return value;
  return value.trim() === '' ? token : `${value}, ${token}`;
}

/** A header list as mutable pairs (event messages take any iterable of pairs). */
export function headerList(headers: Iterable<readonly [string, string]> | undefined): [string, string][] {
  const out: [string, string][] = [];
  if (headers !== undefined) for (const [key, value] of headers) out.push([key, value]);
  return out;
}

export type { EventHeader, HeaderPair };
