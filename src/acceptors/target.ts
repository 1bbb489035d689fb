/** Splitting a request target into the path and the query the core wants. */

export interface TargetParts {
  /** The path, percent-encoding intact. */
  rawPath: string;
  /** The query without `?`; `''` when absent. */
  query: string;
}

/** Fills `into` from a request target; an absolute-form target (`http://host/path`) keeps only its path. */
export function splitTarget(into: TargetParts, url: string): void {
  let start = 0;
  if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
    // absolute-form (http://host/path): the path starts at the first '/' after the authority.
    const scheme = url.indexOf('://');
    if (scheme !== -1) {
      const slash = url.indexOf('/', scheme + 3);
      if (slash === -1) {
        const q = url.indexOf('?', scheme + 3);
        into.rawPath = '/';
        into.query = q === -1 ? '' : url.slice(q + 1);
        return;
      }
      start = slash;
    }
  }
  const q = url.indexOf('?', start);
  if (q === -1) {
    into.rawPath = start === 0 ? url : url.slice(start);
    into.query = '';
  } else {
    into.rawPath = url.slice(start, q);
    into.query = url.slice(q + 1);
  }
}
