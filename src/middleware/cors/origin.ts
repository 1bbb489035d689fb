/**
 * The `origin` option of `cors()` compiled into one test. Configured origins are checked and
 * brought into the form browsers send (`Origin: https://example.com`: lower-case, no default
 * port, no trailing slash) when the app is wrapped, so a near miss such as
 * `'https://example.com/'` fails at start-up instead of silently refusing every request.
 */

/** Which request origins are allowed (see `CorsOptions.origin`). */
export type OriginOption = string | RegExp | ReadonlyArray<string | RegExp> | ((origin: string) => boolean);

export interface OriginRule {
  /** True when every origin is allowed (`'*'`, alone or in a list). */
  any: boolean;
  allows(origin: string): boolean;
}

const NAME = 'cors()';
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/;

export function compileOrigin(option: OriginOption | undefined): OriginRule {
  if (option === undefined || option === '*') return { any: true, allows: () => true };
  if (typeof option === 'function') return { any: false, allows: (origin) => option(origin) === true };
  const list = typeof option === 'string' || option instanceof RegExp ? [option] : option;
  if (!Array.isArray(list)) {
    throw new TypeError(`${NAME} origin must be '*', an origin string, a RegExp, a list of those, or a function (origin) => boolean; got ${typeof option}`);
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  let any = false;
  for (const entry of list as unknown[]) {
    if (entry === '*') any = true;
    else if (typeof entry === 'string') exact.add(canonicalOrigin(entry));
    // Without the g and y flags, test() keeps no lastIndex state between requests.
    else if (entry instanceof RegExp) patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
    else throw new TypeError(`${NAME} origin list entries must be origin strings or RegExps; got ${entry === null ? 'null' : typeof entry}`);
  }
  if (any) return { any: true, allows: () => true };
  return {
    any: false,
    allows: (origin) => {
      if (exact.has(origin)) return true;
      for (const pattern of patterns) if (pattern.test(origin)) return true;
      return false;
    },
  };
}

/** An origin string as browsers serialize it; throws a TypeError that shows the fix. */
function canonicalOrigin(entry: string): string {
  const text = entry.trim().toLowerCase();
  // Sandboxed documents and file: pages send `Origin: null`; allowing it is the user's call.
  if (text === 'null') return text;
  if (text.includes('*')) {
    throw new TypeError(`${NAME} origin '${entry}': wildcards are allowed only as '*' alone; match subdomains with a RegExp such as /^https:\\/\\/[a-z0-9-]+\\.example\\.com$/`);
  }
  if (!ORIGIN.test(text)) {
    const fixed = /^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+/.exec(text)?.[0];
    throw new TypeError(
      `${NAME} origin '${entry}' is not an origin (scheme://host[:port], no path or trailing slash)` + (fixed === undefined ? '' : `: use '${fixed}'`),
    );
  }
  if (text.startsWith('http://') || text.startsWith('https://')) {
    try {
      return new URL(text).origin; // drops a default port, turns an IDN into punycode
    } catch {
      throw new TypeError(`${NAME} origin '${entry}' is not a valid URL origin`);
    }
  }
  return text;
}
