/**
 * Mount points: normalising the prefixes users write, finding the longest one that matches a
 * path on a segment boundary, and cutting the raw path in step with the decoded one.
 */
import { decodePath } from '../../core/path.js';

export interface MountPoint<App> {
  /** The normalised prefix: starts with '/', never ends with '/'. */
  readonly prefix: string;
  readonly app: App;
}

/** Checks and sorts the mapping: longest prefix first, so the first match is the longest. */
export function mountPoints<App>(mapping: Record<string, App>, check: (app: unknown, prefix: string) => App): MountPoint<App>[] {
  if (mapping === null || typeof mapping !== 'object' || Array.isArray(mapping)) {
    throw new TypeError(`mount() needs a mapping of prefixes to apps, e.g. mount(fallback, { '/api': api }); got ${Array.isArray(mapping) ? 'an array' : typeof mapping}`);
  }
  const points: MountPoint<App>[] = [];
  const seen = new Set<string>();
  for (const [written, app] of Object.entries(mapping)) {
    if (!written.startsWith('/')) throw new TypeError(`mount() prefix ${JSON.stringify(written)} must start with '/', e.g. '/api'`);
    const prefix = written.replace(/\/+$/, '');
    if (prefix === '') throw new TypeError(`mount() prefix ${JSON.stringify(written)} is the root: pass that app as the fallback (the first argument) instead`);
    if (prefix.includes('//')) throw new TypeError(`mount() prefix ${JSON.stringify(written)} has an empty segment ('//')`);
    if (seen.has(prefix)) throw new TypeError(`mount() prefix ${JSON.stringify(written)} is given twice (trailing slashes do not count)`);
    seen.add(prefix);
    points.push({ prefix, app: check(app, written) });
  }
  points.sort((a, b) => b.prefix.length - a.prefix.length);
  return points;
}

/** The mount point whose prefix is `path` itself or a segment-boundary start of it, or null. */
export function matchMount<App>(points: readonly MountPoint<App>[], path: string): MountPoint<App> | null {
  for (const point of points) {
    const prefix = point.prefix;
    if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */)) return point;
  }
  return null;
}

/**
 * The part of `rawPath` below the raw form of `prefix`: the raw path stays the percent-encoded
 * form of the (shrunken) decoded path. When the raw path spells the prefix literally, that is a
 * slice; otherwise the prefix was percent-encoded, and the cut is at the first segment boundary
 * (a '/' or an encoded one) where the decoded raw text equals the prefix.
 */
export function rawRemainder(rawPath: string, prefix: string): string {
  if (rawPath.startsWith(prefix) && (rawPath.length === prefix.length || rawPath.charCodeAt(prefix.length) === 47)) {
    return rawPath.slice(prefix.length);
  }
  for (let i = 1; i <= rawPath.length; i++) {
    const boundary = i === rawPath.length || rawPath.charCodeAt(i) === 47 || (rawPath.charCodeAt(i) === 37 && /^%2f/i.test(rawPath.slice(i, i + 3)));
    if (boundary && decodePath(rawPath.slice(0, i)) === prefix) return rawPath.slice(i);
  }
  // A host whose raw path does not spell PATH_INFO: keep the two consistent from the decoded side.
  return encodeURI(decodePath(rawPath).slice(prefix.length));
}
