/** The `Range` header (RFC 9110 §14.2), for a single byte range. */

export type RangeRequest =
  /** No usable Range: serve the whole file (absent, malformed, another unit, or several ranges). */
  | { readonly kind: 'whole' }
  /** Bytes `start` through `end`, inclusive, both within the file. */
  | { readonly kind: 'single'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const WHOLE: RangeRequest = { kind: 'whole' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };

export function parseRange(value: string | undefined, size: number): RangeRequest {
  if (value === undefined) return WHOLE;
  const match = /^\s*bytes\s*=(.*)$/i.exec(value);
  if (match === null) return WHOLE;
  // RFC 9110 list syntax allows empty elements (`bytes=0-1,`).
  const specs = match[1]!.split(',').map((spec) => spec.trim()).filter((spec) => spec !== '');
  const parsed: Array<[string, string]> = [];
  for (const spec of specs) {
    const parts = /^(\d*)-(\d*)$/.exec(spec);
    if (parts === null || (parts[1] === '' && parts[2] === '')) return WHOLE;
    if (parts[1] !== '' && parts[2] !== '' && Number(parts[1]) > Number(parts[2])) return WHOLE;
    parsed.push([parts[1]!, parts[2]!]);
  }
  // Several ranges would need multipart/byteranges; answering with the whole file is allowed
  // (a server may ignore Range) and is what clients handle best.
  if (parsed.length !== 1) return WHOLE;
  const [first, last] = parsed[0]!;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return UNSATISFIABLE;
    return { kind: 'single', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return UNSATISFIABLE;
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'single', start, end };
}
