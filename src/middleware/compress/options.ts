/**
 * compress()'s options: what the user may pass, the defaults, and the checks that run once when
 * the app is wrapped, so a typo fails at start-up with a message instead of at the first request.
 */
import zlib from 'node:zlib';

/** A content coding compress() can produce. */
export type CompressEncoding = 'zstd' | 'br' | 'gzip';

/** Compression levels per encoding. */
export interface CompressLevels {
  /** gzip level, 1 (fastest) to 9 (smallest). Default 6, zlib's own default. */
  gzip?: number;
  /** Brotli quality, 0 to 11. Default 4: 11 is for files compressed once, far too slow per request. */
  br?: number;
  /** zstd level, 1 to 22. Default 3, zstd's own default. */
  zstd?: number;
}

export interface CompressOptions {
  /**
   * Bodies whose size is known up front (a `Content-Length`, an array body, a single event body
   * message) and smaller than this many bytes are sent as they are: compressing them costs more
   * CPU than the bytes it saves. Default 1024. Streamed bodies of unknown size are always
   * compressed.
   */
  minSize?: number;
  /**
   * A number sets the gzip level (1–9); an object sets each encoding's level. Encodings left
   * out keep their defaults (gzip 6, br 4, zstd 3).
   */
  level?: number | CompressLevels;
  /**
   * The encodings offered, in the server's order of preference (it breaks ties between equal
   * q-values in Accept-Encoding). Default: `['zstd', 'br', 'gzip']`, without `zstd` on a Node
   * whose zlib lacks it (Node 20; it arrived in Node 22.15 and 23.8).
   */
  encodings?: readonly CompressEncoding[];
}

/** The options after validation, with every default filled in. */
export interface CompressConfig {
  readonly minSize: number;
  readonly levels: Readonly<Required<CompressLevels>>;
  readonly encodings: readonly CompressEncoding[];
}

/** Whether the running Node's zlib can produce zstd. */
export const ZSTD_AVAILABLE = typeof (zlib as { createZstdCompress?: unknown }).createZstdCompress === 'function';

const KNOWN_ENCODINGS: readonly CompressEncoding[] = ['zstd', 'br', 'gzip'];
const DEFAULT_ENCODINGS: readonly CompressEncoding[] = ZSTD_AVAILABLE ? ['zstd', 'br', 'gzip'] : ['br', 'gzip'];
const DEFAULT_LEVELS: Required<CompressLevels> = { gzip: 6, br: 4, zstd: 3 };
const LEVEL_RANGES: Record<CompressEncoding, readonly [number, number]> = { gzip: [1, 9], br: [0, 11], zstd: [1, 22] };
const OPTION_NAMES = ['minSize', 'level', 'encodings'];

export function compressConfig(options: CompressOptions | undefined): CompressConfig {
  if (options === undefined || options === null) return { minSize: 1024, levels: DEFAULT_LEVELS, encodings: DEFAULT_ENCODINGS };
  if (typeof options !== 'object') {
    throw new TypeError(`compress() options must be an object like { minSize, level, encodings }; got ${typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new TypeError(`compress() got an unknown option ${JSON.stringify(key)}; the options are ${OPTION_NAMES.join(', ')}`);
    }
  }
  return {
    minSize: minSizeOf(options.minSize),
    levels: levelsOf(options.level),
    encodings: encodingsOf(options.encodings),
  };
}

function minSizeOf(value: unknown): number {
  if (value === undefined) return 1024;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`compress() option minSize must be a whole number of bytes, 0 or more; got ${describe(value)}`);
  }
  return value;
}

function levelsOf(value: unknown): Required<CompressLevels> {
  if (value === undefined) return DEFAULT_LEVELS;
  if (typeof value === 'number') return { ...DEFAULT_LEVELS, gzip: checkLevel('gzip', value, 'level') };
  if (value === null || typeof value !== 'object') {
    throw new TypeError(`compress() option level must be a gzip level (1–9) or an object { gzip, br, zstd }; got ${describe(value)}`);
  }
  const levels = { ...DEFAULT_LEVELS };
  for (const [key, level] of Object.entries(value as Record<string, unknown>)) {
    if (!(KNOWN_ENCODINGS as readonly string[]).includes(key)) {
      throw new TypeError(`compress() option level has an unknown encoding ${JSON.stringify(key)}; use gzip, br or zstd`);
    }
    if (level === undefined) continue;
    levels[key as CompressEncoding] = checkLevel(key as CompressEncoding, level, `level.${key}`);
  }
  return levels;
}

function checkLevel(encoding: CompressEncoding, level: unknown, name: string): number {
  const [low, high] = LEVEL_RANGES[encoding];
  if (typeof level !== 'number' || !Number.isInteger(level) || level < low || level > high) {
    throw new RangeError(`compress() option ${name} must be a whole number from ${low} to ${high} (the ${encoding} level); got ${describe(level)}`);
  }
  return level;
}

function encodingsOf(value: unknown): readonly CompressEncoding[] {
  if (value === undefined) return DEFAULT_ENCODINGS;
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      `compress() option encodings must be a non-empty array of 'zstd', 'br', 'gzip' in order of preference; got ${describe(value)}`,
    );
  }
  const seen = new Set<string>();
  for (const encoding of value as unknown[]) {
    if (typeof encoding !== 'string' || !(KNOWN_ENCODINGS as readonly string[]).includes(encoding)) {
      throw new TypeError(`compress() option encodings lists ${describe(encoding)}; the encodings are 'zstd', 'br' and 'gzip'`);
    }
    if (seen.has(encoding)) throw new TypeError(`compress() option encodings lists ${JSON.stringify(encoding)} twice; list each once`);
    if (encoding === 'zstd' && !ZSTD_AVAILABLE) {
      throw new TypeError(
        `compress() option encodings lists 'zstd', but this Node (${process.version}) has no zstd in zlib ` +
          `(it needs Node 22.15, 23.8 or later); leave 'zstd' out or upgrade Node`,
      );
    }
    seen.add(encoding);
  }
  return [...(value as CompressEncoding[])];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}
