/**
 * Open files shared by the requests that name them within a second: nginx's open_file_cache, in
 * small. Opening, fstat'ing and closing a file are three thread-pool round trips, which for a
 * small file cost more CPU than reading and sending it (on this project's bench machine the
 * static-64k scenario went from ~4,200 to ~5,300 req/s, 306 to 233 µs of CPU per request). Each response holds a lease;
 * the descriptor closes once its second is over and the last lease is returned.
 *
 * What a second of caching means for users: a file replaced by rename is served from its old
 * inode, with its old validators, for at most a second; one deleted is still served for at most
 * a second; one rewritten in place may show new bytes under old validators for that second (the
 * reason to replace served files atomically, as with any server that caches descriptors).
 */
import type fs from 'node:fs';
import { FileDescriptor } from './descriptor.js';

const TTL_MS = 1000;
/** Descriptors kept open at most; past it files are opened for one response only. */
const LIMIT = 1024;

class Entry {
  refs = 0;
  expired = false;

  constructor(
    readonly key: string,
    readonly descriptor: FileDescriptor,
    readonly stat: fs.BigIntStats,
    cached: boolean,
  ) {
    if (cached) setTimeout(() => this.expire(), TTL_MS).unref();
    else this.expired = true;
  }

  expire(): void {
    this.expired = true;
    if (entries.get(this.key) === this) entries.delete(this.key);
    if (this.refs === 0) void this.descriptor.close().catch(() => {});
  }

  release(): Promise<void> {
    this.refs--;
    if (this.expired && this.refs === 0) return this.descriptor.close();
    return Promise.resolve();
  }
}

const entries = new Map<string, Entry>();

/** One response's hold on a shared open file: reads through it, close() gives it back once. */
export class FileLease {
  private reading: Promise<unknown> | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly entry: Entry) {
    entry.refs++;
  }

  get stat(): fs.BigIntStats {
    return this.entry.stat;
  }

  read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (this.closing !== null) return Promise.reject(new Error('the file was closed'));
    const read = this.entry.descriptor.read(buffer, offset, length, position);
    this.reading = read;
    return read;
  }

  /** Returns the lease once, after this lease's read in flight (the descriptor may close next). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.reading?.catch(() => {});
      await this.entry.release();
    })();
    return this.closing;
  }
}

export type Opened = { lease: FileLease } | 'directory' | 'other';

/**
 * A lease on the regular file at `real` (a resolved path), from the cache or freshly opened;
 * 'directory' or 'other' when it is not a regular file. Open errors are thrown.
 */
export async function openShared(real: string, flags: number): Promise<Opened> {
  const hit = entries.get(real);
  if (hit !== undefined && !hit.expired) return { lease: new FileLease(hit) };
  const descriptor = await FileDescriptor.open(real, flags);
  let stat: fs.BigIntStats;
  try {
    stat = await descriptor.stat();
  } catch (error) {
    await descriptor.close();
    throw error;
  }
  if (!stat.isFile()) {
    await descriptor.close();
    return stat.isDirectory() ? 'directory' : 'other';
  }
  // Two requests may have opened the same file at once: the later one is not cached.
  const cached = entries.size < LIMIT && !entries.has(real);
  const entry = new Entry(real, descriptor, stat, cached);
  if (cached) entries.set(real, entry);
  return { lease: new FileLease(entry) };
}
