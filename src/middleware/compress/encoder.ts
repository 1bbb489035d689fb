/**
 * The zlib side: one-shot compression of a whole body, and a streaming encoder that flushes
 * after every chunk, so each chunk the app produces reaches the client at once instead of
 * waiting in the compressor's window for more input.
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import type { CompressConfig, CompressEncoding } from './options.js';

/** zstd in zlib arrived in Node 22.15 / 23.8, after the @types/node this package builds against. */
interface ZstdZlib {
  createZstdCompress(options: object): Transform;
  zstdCompressSync(data: Uint8Array, options: object): Buffer;
  zstdCompress(data: Uint8Array, options: object, callback: (error: Error | null, result: Buffer) => void): void;
}
const zstd = zlib as unknown as ZstdZlib;
const constants = zlib.constants as typeof zlib.constants & {
  ZSTD_e_flush: number;
  ZSTD_c_compressionLevel: number;
};

/**
 * Whole bodies up to this size are compressed synchronously (quicker than a trip to the thread
 * pool); larger ones in the thread pool, so one big response does not stall every other
 * connection on the event loop.
 */
const SYNC_LIMIT = 256 * 1024;

/** Compresses a whole body at once. */
export function compressWhole(encoding: CompressEncoding, data: Uint8Array, config: CompressConfig): Buffer | Promise<Buffer> {
  const levels = config.levels;
  if (encoding === 'gzip') {
    const options = { level: levels.gzip };
    return data.byteLength <= SYNC_LIMIT ? zlib.gzipSync(data, options) : viaPool((done) => zlib.gzip(data, options, done));
  }
  if (encoding === 'br') {
    const options = {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: levels.br,
        // Lets brotli pick a window no larger than the body needs.
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: data.byteLength,
      },
    };
    return data.byteLength <= SYNC_LIMIT ? zlib.brotliCompressSync(data, options) : viaPool((done) => zlib.brotliCompress(data, options, done));
  }
  const options = { params: { [constants.ZSTD_c_compressionLevel]: levels.zstd } };
  return data.byteLength <= SYNC_LIMIT ? zstd.zstdCompressSync(data, options) : viaPool((done) => zstd.zstdCompress(data, options, done));
}

function viaPool(compress: (done: (error: Error | null, result: Buffer) => void) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => compress((error, result) => (error === null ? resolve(result) : reject(error))));
}

/** A zlib stream whose every write is flushed (gzip Z_SYNC_FLUSH, brotli and zstd their flush). */
function createStream(encoding: CompressEncoding, config: CompressConfig): Transform {
  const levels = config.levels;
  if (encoding === 'gzip') return zlib.createGzip({ level: levels.gzip, flush: zlib.constants.Z_SYNC_FLUSH });
  if (encoding === 'br') {
    return zlib.createBrotliCompress({
      flush: zlib.constants.BROTLI_OPERATION_FLUSH,
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: levels.br },
    });
  }
  return zstd.createZstdCompress({ flush: constants.ZSTD_e_flush, params: { [constants.ZSTD_c_compressionLevel]: levels.zstd } });
}

const EMPTY = Buffer.alloc(0);

/**
 * Compresses a body chunk by chunk: `write(chunk)` resolves with the compressed bytes of that
 * chunk, flushed so the client can decode everything sent so far; `end()` with the stream's
 * last bytes. One operation at a time: the caller awaits each before the next, which is what
 * keeps the body pull-based (nothing is compressed ahead of what the client takes).
 */
export class StreamEncoder {
  private readonly stream: Transform;
  private parts: Buffer[] = [];
  private size = 0;
  private failure: Error | null = null;
  /** The operation in progress, settled early by an error or by destroy(). */
  private pending: { resolve: (bytes: Buffer) => void; reject: (error: Error) => void } | null = null;

  constructor(encoding: CompressEncoding, config: CompressConfig) {
    const stream = createStream(encoding, config);
    this.stream = stream;
    // Flowing mode: output arrives as 'data' while the chunk is compressed, so it is complete
    // when the write's callback runs.
    stream.on('data', (part: Buffer) => {
      this.parts.push(part);
      this.size += part.byteLength;
    });
    stream.on('error', (error: Error) => {
      this.failure = error;
      const pending = this.pending;
      this.pending = null;
      pending?.reject(error);
    });
  }

  /** The compressed bytes of `chunk` (possibly empty), flushed. */
  write(chunk: Uint8Array): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.stream.write(chunk, (error) => {
        if (this.pending === null) return;
        this.pending = null;
        if (error !== null && error !== undefined) reject(error);
        else resolve(this.take());
      });
    });
  }

  /** The last bytes of the stream (after compressing `chunk`, when given). */
  end(chunk?: Uint8Array): Promise<Buffer> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.stream.once('end', () => {
        if (this.pending === null) return;
        this.pending = null;
        resolve(this.take());
      });
      if (chunk !== undefined && chunk.byteLength > 0) this.stream.end(chunk);
      else this.stream.end();
    });
  }

  /**
   * Frees the compressor early (the response was cut short). An operation in progress resolves
   * with no bytes; its caller checks whether the response is still on before using them.
   */
  destroy(): void {
    const pending = this.pending;
    this.pending = null;
    this.parts = [];
    this.size = 0;
    this.stream.destroy();
    pending?.resolve(EMPTY);
  }

  private take(): Buffer {
    // Output pushed while the stream was not flowing yet sits in its buffer: read() hands it to
    // the 'data' listener.
    while (this.stream.readableLength > 0 && this.stream.read() !== null);
    const parts = this.parts;
    if (parts.length === 0) return EMPTY;
    const out = parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.size);
    this.parts = [];
    this.size = 0;
    return out;
  }
}
