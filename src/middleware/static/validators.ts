/**
 * Validators (ETag, Last-Modified) and the conditional request headers that use them, in the
 * order RFC 9110 §13.2.2 evaluates them.
 */
import type { BigIntStats } from 'node:fs';
import type { Coding } from './encoding.js';

export interface Validators {
  /** Strong: size and mtime (ns) of the representation served, plus its coding. */
  readonly etag: string;
  readonly lastModified: string;
  /** mtime in whole seconds, the precision of HTTP dates. */
  readonly mtimeSeconds: number;
}

const CODING_SUFFIX: Record<Coding, string> = { br: '-br', gzip: '-gz' };

export function validatorsOf(stat: BigIntStats, coding: Coding | null): Validators {
  // The coding suffix keeps a br and a gzip file with equal size and mtime from sharing a tag.
  const etag = `"${stat.size.toString(16)}-${stat.mtimeNs.toString(16)}${coding === null ? '' : CODING_SUFFIX[coding]}"`;
  const mtimeMs = Number(stat.mtimeMs);
  return { etag, lastModified: new Date(mtimeMs).toUTCString(), mtimeSeconds: Math.floor(mtimeMs / 1000) };
}

/** An HTTP-date (IMF-fixdate, RFC 850 or asctime) in seconds, or null when it is not one. */
export function parseHttpDate(value: string): number | null {
  const text = value.trim();
  // Date.parse alone accepts "1" or "tomorrow-ish" strings; only the three HTTP forms count.
  const isGmt = /^[A-Za-z]{3,9}, [0-9]{1,2}[ -][A-Za-z]{3}[ -][0-9]{2,4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/.test(text);
  const isAsctime = /^[A-Za-z]{3} [A-Za-z]{3} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4}$/.test(text);
  if (!isGmt && !isAsctime) return null;
  const ms = Date.parse(isAsctime ? `${text} GMT` : text);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
}

/** Whether an `If-Match`/`If-None-Match` list names `etag` (`*` names any current file). */
function listMatches(list: string, etag: string, strong: boolean): boolean {
  if (list.trim() === '*') return true;
  for (const [tag] of list.matchAll(/(?:W\/)?"[^"]*"/g)) {
    const weak = tag.startsWith('W/');
    if (strong && weak) continue;
    if ((weak ? tag.slice(2) : tag) === etag) return true;
  }
  return false;
}

export type Precondition = 'proceed' | 'not-modified' | 'failed';

/** RFC 9110 §13.2.2 for GET and HEAD. If-None-Match, when present, overrides If-Modified-Since. */
export function evaluatePreconditions(header: (name: string) => string | undefined, validators: Validators): Precondition {
  const ifMatch = header('if-match');
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, validators.etag, true)) return 'failed';
  } else {
    const since = header('if-unmodified-since');
    const date = since === undefined ? null : parseHttpDate(since);
    if (date !== null && validators.mtimeSeconds > date) return 'failed';
  }
  const ifNoneMatch = header('if-none-match');
  if (ifNoneMatch !== undefined) return listMatches(ifNoneMatch, validators.etag, false) ? 'not-modified' : 'proceed';
  const since = header('if-modified-since');
  const date = since === undefined ? null : parseHttpDate(since);
  return date !== null && validators.mtimeSeconds <= date ? 'not-modified' : 'proceed';
}

/**
 * `If-Range`: the range applies only to the representation the client has part of. An entity
 * tag must match strongly; a date must equal Last-Modified exactly (RFC 9110 §13.1.5).
 */
export function ifRangeHolds(value: string | undefined, validators: Validators): boolean {
  if (value === undefined) return true;
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith('W/')) return text === validators.etag;
  const date = parseHttpDate(text);
  return date !== null && date === validators.mtimeSeconds;
}
