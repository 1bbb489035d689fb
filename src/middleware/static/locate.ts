/**
 * Finding the file a request names: real paths (symlinks followed) checked against the root,
 * files opened once and stat'ed through their handle, so what is checked is what is sent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openShared, type FileLease } from './open-files.js';
import type { StaticConfig } from './options.js';
import type { PathVerdict } from './request-path.js';

/** An open regular file and its stat, taken from the handle (not the path: no race between them). */
export interface OpenFile {
  readonly handle: FileLease;
  readonly stat: fs.BigIntStats;
}

export type Located =
  | { readonly kind: 'pass' }
  | { readonly kind: 'forbidden' }
  /** A directory with an index, named without its trailing slash. */
  | { readonly kind: 'redirect' }
  /** `requested` is the path under the root as named (before symlinks): siblings and types go by it. */
  | { readonly kind: 'file'; readonly requested: string; readonly file: OpenFile };

const PASS: Located = { kind: 'pass' };
const FORBIDDEN: Located = { kind: 'forbidden' };

/** The name does not exist (or cannot, as a file): the inner app may know it. */
const MISSING_CODES = new Set(['ENOENT', 'ENOTDIR', 'ENAMETOOLONG']);
/** The name exists but must not be served: a loop, no permission, a symlink swapped in. */
const REFUSED_CODES = new Set(['EACCES', 'EPERM', 'ELOOP']);

/**
 * O_NONBLOCK keeps a FIFO planted in the root from blocking a threadpool thread in open(); it
 * changes nothing for regular files. O_NOFOLLOW refuses a symlink swapped in after realpath().
 * Both are 0 (absent) on Windows.
 */
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0);

type Real = string | 'missing' | 'refused';

/**
 * Resolved names, kept for a second (nginx's open_file_cache, in small): realpath() walks every
 * component of the path with a system call each, and a missing sibling (`.br`, `.gz`) costs a
 * thrown error, so without this most of a small file's CPU went to names, not bytes. A name that
 * was missing is cached only for siblings: a file created under the root is served at once, a
 * new `.br` beside it within a second.
 */
const NAME_TTL_MS = 1000;
const NAME_CACHE_LIMIT = 10_000;
const names = new Map<string, { real: Real; until: number }>();

async function cachedRealInside(config: StaticConfig, candidate: string, cacheMissing: boolean): Promise<Real> {
  const now = Date.now();
  const key = config.root + '\0' + candidate;
  const hit = names.get(key);
  if (hit !== undefined && hit.until > now) return hit.real;
  const real = await realInside(config, candidate);
  if (real !== 'missing' || cacheMissing) {
    // Attacker-chosen names: the cache is dropped whole rather than allowed to grow.
    if (names.size >= NAME_CACHE_LIMIT) names.clear();
    names.set(key, { real, until: now + NAME_TTL_MS });
  }
  return real;
}

/** The real path of `candidate` when it exists inside the root. */
async function realInside(config: StaticConfig, candidate: string): Promise<Real> {
  let real: string;
  try {
    real = await fs.promises.realpath(candidate);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (MISSING_CODES.has(code)) return 'missing';
    if (REFUSED_CODES.has(code)) return 'refused';
    throw error;
  }
  // A symlink (or a race) that leads out of the root is a 404, never a fall-through: the inner
  // app should not learn that the name exists.
  return real === config.root || real.startsWith(config.rootPrefix) ? real : 'refused';
}

type Opened = OpenFile | 'directory' | 'other' | 'missing' | 'refused';

async function openRegular(real: string): Promise<Opened> {
  let opened: Awaited<ReturnType<typeof openShared>>;
  try {
    opened = await openShared(real, OPEN_FLAGS);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'EISDIR') return 'directory'; // Windows cannot open directories
    if (MISSING_CODES.has(code)) return 'missing';
    if (REFUSED_CODES.has(code)) return 'refused';
    throw error;
  }
  if (typeof opened === 'string') return opened;
  return { handle: opened.lease, stat: opened.lease.stat };
}

/** Opens `candidate` when it is a regular file inside the root; says why not otherwise. */
export async function openInside(config: StaticConfig, candidate: string): Promise<Opened> {
  const real = await cachedRealInside(config, candidate, false);
  if (real === 'missing' || real === 'refused') return real;
  return openRegular(real);
}

export async function locate(config: StaticConfig, verdict: PathVerdict & { kind: 'segments' }): Promise<Located> {
  const requested = path.join(config.root, ...verdict.segments);
  const opened = await openInside(config, requested);
  if (opened === 'refused') return FORBIDDEN;
  // Sockets, FIFOs and devices are not files to serve.
  if (opened === 'missing' || opened === 'other') return PASS;
  if (opened !== 'directory') {
    if (!verdict.trailingSlash) return { kind: 'file', requested, file: opened };
    // `/file.txt/` is not the file: relative links in it would resolve against the wrong base.
    await opened.handle.close();
    return PASS;
  }
  if (config.index === false) return PASS;
  const indexPath = path.join(requested, config.index);
  const index = await openInside(config, indexPath);
  if (index === 'refused') return FORBIDDEN;
  if (typeof index === 'string') return PASS;
  if (!verdict.trailingSlash) {
    // Relative links in the index resolve against the URL, so it must end in '/'.
    await index.handle.close();
    return { kind: 'redirect' };
  }
  return { kind: 'file', requested: indexPath, file: index };
}

/** Which precompressed siblings of `requested` exist inside the root (real paths), for Vary and choice. */
export async function findSiblings(config: StaticConfig, requested: string): Promise<{ br: string | null; gzip: string | null }> {
  // A sibling that cannot be looked up is treated as absent: the identity file is still good.
  const realOrNull = (candidate: string) =>
    cachedRealInside(config, candidate, true).then(
      (real) => (real === 'missing' || real === 'refused' ? null : real),
      () => null,
    );
  const [br, gzip] = await Promise.all([realOrNull(requested + '.br'), realOrNull(requested + '.gz')]);
  return { br, gzip };
}

/** Opens a sibling found by findSiblings; null when it is not a regular file (any more). */
export async function openSibling(real: string): Promise<OpenFile | null> {
  try {
    const opened = await openRegular(real);
    return typeof opened === 'string' ? null : opened;
  } catch {
    return null;
  }
}
