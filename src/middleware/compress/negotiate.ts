/**
 * Accept-Encoding negotiation (RFC 9110 §12.5.3): which of the server's encodings the client
 * wants most. Results are cached per header value: clients send a handful of distinct values,
 * so a busy server parses each of them once.
 */
import type { CompressEncoding } from './options.js';

/** How many distinct Accept-Encoding values each compress() instance remembers. */
const CACHE_LIMIT = 256;

export class Negotiator {
  private readonly cache = new Map<string, CompressEncoding | null>();

  constructor(private readonly offered: readonly CompressEncoding[]) {}

  /** The encoding to use for a request's Accept-Encoding, or null to send the body as it is. */
  choose(acceptEncoding: string | undefined): CompressEncoding | null {
    // No header: RFC 9110 would allow any coding, but clients that can decode send the header,
    // and one that sends none (curl without --compressed, scripts) expects plain bytes.
    if (acceptEncoding === undefined || acceptEncoding === '') return null;
    let chosen = this.cache.get(acceptEncoding);
    if (chosen === undefined) {
      chosen = negotiate(acceptEncoding, this.offered);
      // Header values are client-controlled: never let them grow the cache without bound.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(acceptEncoding, chosen);
    }
    return chosen;
  }
}

/**
 * The offered encoding with the highest q-value above 0; ties go to the one offered first. An
 * encoding the header does not name gets the q of `*`, or is unacceptable without `*`. An
 * explicit `identity` with a higher q than every offered encoding means the client prefers the
 * body as it is.
 */
export function negotiate(header: string, offered: readonly CompressEncoding[]): CompressEncoding | null {
  const weights = new Map<string, number>();
  for (const part of header.split(',')) {
    const semicolon = part.indexOf(';');
    const coding = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    if (coding === '') continue;
    const q = semicolon === -1 ? 1 : qOf(part.slice(semicolon + 1));
    if (q === null) continue;
    // x-gzip is gzip's old name (RFC 9110 §8.4.1.3). When a coding is listed twice, the
    // most favourable listing counts.
    const name = coding === 'x-gzip' ? 'gzip' : coding;
    weights.set(name, Math.max(q, weights.get(name) ?? 0));
  }
  const star = weights.get('*');
  let best: CompressEncoding | null = null;
  let bestQ = 0;
  for (const encoding of offered) {
    const q = weights.get(encoding) ?? star ?? 0;
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  const identity = weights.get('identity');
  if (best !== null && identity !== undefined && identity > bestQ) return null;
  return best;
}

/** The q-value among a coding's parameters; 1 without one; null when it is malformed. */
function qOf(parameters: string): number | null {
  let q = 1;
  for (const parameter of parameters.split(';')) {
    const equals = parameter.indexOf('=');
    if (equals === -1) continue;
    if (parameter.slice(0, equals).trim().toLowerCase() !== 'q') continue;
    const text = parameter.slice(equals + 1).trim();
    // RFC 9110 qvalue: 0 to 1 with at most three decimals.
    if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return null;
    q = Number(text);
  }
  return q;
}
