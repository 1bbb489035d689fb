/**
 * Turning the decoded request path (PATH_INFO / scope.path) into file-name segments, refusing
 * anything that could name a file outside the root before the filesystem is asked.
 */

export type PathVerdict =
  /** Serve from these segments (none: the root itself). */
  | { readonly kind: 'segments'; readonly segments: readonly string[]; readonly trailingSlash: boolean }
  /** A traversal attempt or an impossible name: answered 404 here, never shown to the inner app. */
  | { readonly kind: 'forbidden' }
  /** Not ours to serve (a dotfile): the inner app gets the request. */
  | { readonly kind: 'pass' };

const FORBIDDEN: PathVerdict = { kind: 'forbidden' };
const PASS: PathVerdict = { kind: 'pass' };

/**
 * The path is already percent-decoded by the server, so `%2e%2e` and `..%2f` arrive here as
 * `..` segments and are caught like a literal `..`. A backslash is refused outright: it is a
 * separator on Windows and never part of a sane URL path. A NUL would truncate the name in C.
 */
export function parseRequestPath(requestPath: string): PathVerdict {
  if (requestPath.includes('\0') || requestPath.includes('\\')) return FORBIDDEN;
  const segments: string[] = [];
  let hidden = false;
  for (const part of requestPath.split('/')) {
    if (part === '') continue;
    // `.` is harmless on disk but means the client sent a path nobody normalised; refusing it
    // keeps one spelling per file (and ETag) and all dot segments out of the filesystem.
    if (part === '.' || part === '..') return FORBIDDEN;
    if (part.charCodeAt(0) === 46 /* . */) hidden = true;
    segments.push(part);
  }
  // Traversal is checked over every segment before the dotfile rule, so `/.git/../..` is a 404.
  if (hidden) return PASS;
  return { kind: 'segments', segments, trailingSlash: requestPath.endsWith('/') };
}
