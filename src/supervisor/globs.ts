/**
 * The globs of --reload-include and --reload-exclude: `*` (within a path segment), `**` (across
 * segments), `?` and `{a,b}`. A pattern without `/` is tried against each segment of the path (so
 * `node_modules` excludes everything under any node_modules directory, and `*.mjs` matches the
 * file name); a pattern with `/` against the whole path below the watched directory.
 */
export class GlobSet {
  private readonly segmentPatterns: RegExp[] = [];
  private readonly pathPatterns: RegExp[] = [];

  constructor(globs: readonly string[]) {
    for (const glob of globs) (glob.includes('/') ? this.pathPatterns : this.segmentPatterns).push(toRegExp(glob));
  }

  /** Whether the file name (the last segment) or the whole relative path matches. */
  matchesFile(relative: string): boolean {
    const name = relative.slice(relative.lastIndexOf('/') + 1);
    return this.segmentPatterns.some((pattern) => pattern.test(name)) || this.pathPatterns.some((pattern) => pattern.test(relative));
  }

  /** Whether any segment of the path, or the whole path, matches. */
  matchesAnySegment(relative: string): boolean {
    const segments = relative.split('/');
    return this.segmentPatterns.some((pattern) => segments.some((segment) => pattern.test(segment))) || this.pathPatterns.some((pattern) => pattern.test(relative));
  }
}

export function toRegExp(glob: string): RegExp {
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i]!;
    if (char === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more whole directories; a trailing `**` anything below.
        if (glob[i + 2] === '/') {
          source += '(?:.*/)?';
          i += 2;
        } else {
          source += '.*';
          i += 1;
        }
      } else {
        source += '[^/]*';
      }
    } else if (char === '?') {
      source += '[^/]';
    } else if (char === '{') {
      braces++;
      source += '(?:';
    } else if (char === '}' && braces > 0) {
      braces--;
      source += ')';
    } else if (char === ',' && braces > 0) {
      source += '|';
    } else {
      source += char.replace(/[.+^$()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}
