/**
 * The options of `staticFiles()`, checked once when the app is wrapped: a wrong root or a
 * negative max-age is a deployment mistake that should stop the server at start-up, not turn
 * every request into a 500.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface StaticFilesOptions {
  /** The directory to serve (required). Resolved once, symlinks included, when the app is wrapped. */
  root: string;
  /** The file served for a directory, `'index.html'` by default; `false` serves no index files. */
  index?: string | false;
  /** `Cache-Control: max-age` in seconds, `0` by default (caches revalidate every time; 304s make that cheap). */
  maxAge?: number;
  /** Adds `immutable` to `Cache-Control` (for fingerprinted file names); `false` by default. */
  immutable?: boolean;
  /**
   * Serve `<file>.br` / `<file>.gz` next to a file to clients that accept br / gzip; `true` by
   * default. `false` saves the two look-ups per file request when there are no such files.
   */
  precompressed?: boolean;
}

/** The options after checking, with the root as a real absolute path. */
export interface StaticConfig {
  /** The real path of the root, without a trailing separator (except for `/` itself). */
  readonly root: string;
  /** `root` followed by the separator: a real path is inside the root when it starts with this. */
  readonly rootPrefix: string;
  readonly index: string | false;
  /** The value of `Cache-Control` for files. */
  readonly cacheControl: string;
  /** The same without `immutable` for the trailing-slash redirect (a redirect is not content). */
  readonly redirectCacheControl: string;
  readonly precompressed: boolean;
}

const OPTION_NAMES = ['root', 'index', 'maxAge', 'immutable', 'precompressed'];

export function resolveOptions(options: StaticFilesOptions | undefined): StaticConfig {
  if (options === null || typeof options !== 'object') {
    throw new TypeError("staticFiles() needs options with a root directory: staticFiles(app, { root: './public' })");
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      // A misspelt option would otherwise be ignored silently (maxage: 3600 caching nothing).
      const near = OPTION_NAMES.find((name) => name.toLowerCase() === key.toLowerCase().replace(/[-_]/g, ''));
      throw new TypeError(
        `staticFiles(): unknown option ${JSON.stringify(key)}${near === undefined ? '' : ` (did you mean '${near}'?)`}; ` +
          `the options are ${OPTION_NAMES.join(', ')}`,
      );
    }
  }
  const { root, index = 'index.html', maxAge = 0, immutable = false, precompressed = true } = options;
  if (typeof root !== 'string' || root === '') {
    throw new TypeError(`staticFiles(): options.root must be the path of a directory to serve; got ${describe(root)}`);
  }
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(path.resolve(root));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`staticFiles(): the root directory ${JSON.stringify(root)} cannot be opened (${code}); create it or fix options.root`);
  }
  if (!fs.statSync(realRoot).isDirectory()) {
    throw new Error(`staticFiles(): the root ${JSON.stringify(root)} is not a directory; options.root must name a directory`);
  }
  if (index !== false && (typeof index !== 'string' || index === '' || index === '.' || index === '..' || /[/\\\0]/.test(index))) {
    throw new TypeError(`staticFiles(): options.index must be a file name (like 'index.html') or false; got ${describe(index)}`);
  }
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) {
    throw new TypeError(`staticFiles(): options.maxAge must be a number of seconds >= 0; got ${describe(maxAge)}`);
  }
  if (typeof immutable !== 'boolean') {
    throw new TypeError(`staticFiles(): options.immutable must be true or false; got ${describe(immutable)}`);
  }
  if (typeof precompressed !== 'boolean') {
    throw new TypeError(`staticFiles(): options.precompressed must be true or false; got ${describe(precompressed)}`);
  }
  return {
    root: realRoot,
    rootPrefix: realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep,
    index,
    cacheControl: `public, max-age=${Math.floor(maxAge)}${immutable ? ', immutable' : ''}`,
    redirectCacheControl: `public, max-age=${Math.floor(maxAge)}`,
    precompressed,
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return typeof value;
}
