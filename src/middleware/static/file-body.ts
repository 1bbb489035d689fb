/**
 * Sending a slice of an open file chunk by chunk, read only when the consumer asks for the next
 * one: the server's backpressure reaches the disk, and a file is never in memory whole.
 */
import type { FileLease } from './open-files.js';
import type { Send } from '../../spec/event-types.js';
import type { FileSlice } from './plan.js';

export const CHUNK_SIZE = 64 * 1024;

/** `size` bytes at `position`, in a fresh buffer (the socket may still hold the previous one). */
export async function readChunk(handle: FileLease, position: number, size: number, name: string): Promise<Uint8Array> {
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const bytesRead = await handle.read(buffer, filled, size - filled, position + filled);
    if (bytesRead === 0) {
      // The head announced a Content-Length the file can no longer fill: failing cuts the
      // connection, so the client cannot take a short body for the whole file.
      throw new Error(`staticFiles(): ${name} became shorter while it was being sent; replace served files atomically (write, then rename)`);
    }
    filled += bytesRead;
  }
  return buffer;
}

/**
 * A gateway body: an async iterator whose next() reads one chunk, and whose close() (called by
 * the server once, after the last byte or when the client left) closes the file. return(), for
 * consumers that stop iterating early, closes it too; the handle is closed once whoever asks.
 */
export class FileBody implements AsyncIterableIterator<Uint8Array> {
  private position: number;
  private remaining: number;
  private closing: Promise<void> | null = null;

  constructor(private readonly slice: FileSlice) {
    this.position = slice.position;
    this.remaining = slice.length;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array, undefined>> {
    if (this.closing !== null) return { done: true, value: undefined };
    if (this.remaining === 0) {
      // All sent: free the descriptor now rather than when the server gets round to close().
      void this.close().catch(() => {});
      return { done: true, value: undefined };
    }
    const chunk = await readChunk(this.slice.handle, this.position, Math.min(CHUNK_SIZE, this.remaining), this.slice.name);
    this.position += chunk.byteLength;
    this.remaining -= chunk.byteLength;
    return { done: false, value: chunk };
  }

  async return(): Promise<IteratorResult<Uint8Array, undefined>> {
    await this.close();
    return { done: true, value: undefined };
  }

  /** Closes the file once; a read in flight finishes first (FileLease waits for it). */
  close(): Promise<void> {
    this.closing ??= this.slice.handle.close();
    return this.closing;
  }
}

/**
 * The event-interface counterpart: each chunk is read after the previous `send()` resolved, i.e.
 * once the socket took it. The caller closes the handle (in a finally), since a send() rejects
 * when the client leaves.
 */
export async function sendFileBody(slice: FileSlice, send: Send): Promise<void> {
  let position = slice.position;
  let remaining = slice.length;
  while (remaining > 0) {
    const chunk = await readChunk(slice.handle, position, Math.min(CHUNK_SIZE, remaining), slice.name);
    position += chunk.byteLength;
    remaining -= chunk.byteLength;
    await send({ type: 'http.response.body', body: chunk, more_body: remaining > 0 });
  }
}
