/** Choosing a precompressed representation from `Accept-Encoding` (RFC 9110 §12.5.3). */

export type Coding = 'br' | 'gzip';

/** The q-value of each coding the client listed, the first listing winning; x-gzip is gzip. */
function parseAcceptEncoding(value: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const element of value.split(',')) {
    const [rawToken, ...params] = element.split(';');
    let token = rawToken!.trim().toLowerCase();
    if (token === '') continue;
    if (token === 'x-gzip') token = 'gzip';
    let q = 1;
    for (const param of params) {
      const [name, rawValue] = param.split('=');
      if (name!.trim().toLowerCase() !== 'q') continue;
      const text = (rawValue ?? '').trim();
      q = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : NaN;
    }
    // A malformed q makes the element unusable rather than a guess.
    if (Number.isNaN(q)) continue;
    if (!weights.has(token)) weights.set(token, q);
  }
  return weights;
}

/**
 * The coding to serve, among the siblings that exist, or null for the file itself. Highest q
 * wins, br before gzip at equal q (it is smaller). No `Accept-Encoding` means identity: an old
 * client that sends none may not decode anything. An identity the client prefers explicitly
 * (`identity;q=1, br;q=0.5`) wins too.
 */
export function chooseCoding(acceptEncoding: string | undefined, available: { br: boolean; gzip: boolean }): Coding | null {
  if (acceptEncoding === undefined || (!available.br && !available.gzip)) return null;
  const weights = parseAcceptEncoding(acceptEncoding);
  const star = weights.get('*');
  let best: Coding | null = null;
  let bestQ = 0;
  for (const coding of ['br', 'gzip'] as const) {
    if (!available[coding]) continue;
    const q = weights.get(coding) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  const identity = weights.get('identity');
  if (best !== null && identity !== undefined && identity > bestQ) return null;
  return best;
}
