/**
 * `environ['tsgi.input']`: the request body.
 *
 * Two modes (docs/spec.md, "Request bodies"):
 * - buffered: the whole body arrives before the app is called; the synchronous `read()` family
 *   and `for await` both work.
 * - stream: the app is called at once and iterates chunks as they arrive. The queue between
 *   socket and app is bounded: past `HIGH_WATER_BYTES` the acceptor stops reading the socket
 *   until the app catches up, so a 10 GiB upload costs the server a few chunks of memory.
 */
import type { InputStream, InputMode } from '../spec/types.js';
import type { BodyReceiver } from './transport.js';

const EMPTY = new Uint8Array(0);
const NEWLINE = 10;

/** A size argument that limits a read: a non-negative number (PEP 3333: None or -1 mean "all"). */
function isLimit(size: number | undefined | null): size is number {
  return typeof size === 'number' && size >= 0;
}

/** Queue size past which the socket is paused, and below which it is resumed. */
export const HIGH_WATER_BYTES = 256 * 1024;
const LOW_WATER_BYTES = 64 * 1024;

/** What the input tells the exchange that owns it. */
export interface InputOwner {
  /** Buffered mode: the body is complete. */
  onInputComplete(): void;
  /** Buffered mode: the body outgrew the limit; the rest will not be read. */
  onInputOverflow(): void;
  pauseInput(): void;
  resumeInput(): void;
}

export class RequestInput implements InputStream, BodyReceiver {
  /** Coalesced bytes for synchronous reads, and the read position in them. */
  private buffer: Uint8Array = EMPTY;
  private position = 0;
  /** Chunks received and not yet consumed, oldest first. */
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  /** Body bytes received so far. */
  receivedBytes = 0;
  private complete = false;
  private paused = false;
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly owner: InputOwner | null,
    private readonly mode: InputMode,
    private readonly limit: number,
  ) {}

  /** An input that is already complete and empty. */
  static empty(): RequestInput {
    const input = new RequestInput(null, 'buffered', 0);
    input.complete = true;
    return input;
  }

  // --- fed by the acceptor -------------------------------------------------------------------

  onBodyChunk(chunk: Uint8Array, isLast: boolean): void {
    if (this.complete || this.failure !== null) return;
    if (chunk.byteLength > 0) {
      this.receivedBytes += chunk.byteLength;
      if (this.mode === 'buffered' && this.receivedBytes > this.limit) {
        this.failure = new Error('request body exceeds the server limit');
        this.queue = [];
        this.owner?.onInputOverflow();
        return;
      }
      this.queue.push(chunk);
      this.queuedBytes += chunk.byteLength;
    }
    if (isLast) this.complete = true;
    if (this.mode === 'buffered') {
      if (isLast) this.owner?.onInputComplete();
      return;
    }
    if (!isLast && !this.paused && this.queuedBytes > HIGH_WATER_BYTES) {
      this.paused = true;
      this.owner?.pauseInput();
    }
    this.wakeReader();
  }

  /** The connection ended before the body did: pending and future reads fail with `error`. */
  fail(error: Error): void {
    if (this.complete || this.failure !== null) return;
    this.failure = error;
    this.wakeReader();
  }

  /** The body arrived whole, or reading it failed: nothing more will happen to this input. */
  get isSettled(): boolean {
    return this.complete || this.failure !== null;
  }

  get bytesReceived(): number {
    return this.receivedBytes;
  }

  // --- read by the app -----------------------------------------------------------------------

  read(size?: number): Uint8Array {
    this.requireSyncReadable('read');
    const available = this.buffer.byteLength - this.position;
    const count = isLimit(size) ? Math.min(Math.floor(size), available) : available;
    return this.take(count);
  }

  readline(size?: number): Uint8Array {
    this.requireSyncReadable('readline');
    const end = this.buffer.byteLength;
    let stop = this.buffer.indexOf(NEWLINE, this.position);
    stop = stop === -1 ? end : stop + 1;
    if (isLimit(size)) stop = Math.min(stop, this.position + Math.floor(size));
    return this.take(stop - this.position);
  }

  readlines(hint?: number): Uint8Array[] {
    this.requireSyncReadable('readlines');
    const lines: Uint8Array[] = [];
    let collected = 0;
    for (;;) {
      const line = this.readline();
      if (line.byteLength === 0) return lines;
      lines.push(line);
      collected += line.byteLength;
      if (isLimit(hint) && hint > 0 && collected >= hint) return lines;
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.position < this.buffer.byteLength) {
      const rest = this.buffer.subarray(this.position);
      this.position = this.buffer.byteLength;
      yield rest;
    }
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        this.queuedBytes -= chunk.byteLength;
        if (this.paused && this.queuedBytes < LOW_WATER_BYTES) {
          this.paused = false;
          this.owner?.resumeInput();
        }
        yield chunk;
        continue;
      }
      if (this.failure !== null) throw this.failure;
      if (this.complete) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  // --- internals -----------------------------------------------------------------------------

  private wakeReader(): void {
    const wake = this.wake;
    if (wake !== null) {
      this.wake = null;
      wake();
    }
  }

  private requireSyncReadable(method: string): void {
    if (this.failure !== null) throw this.failure;
    if (!this.complete) {
      throw new Error(
        `tsgi.input.${method}() cannot wait for a streamed request body. Iterate it instead ` +
          `(for await (const chunk of environ['tsgi.input'])), or set app.tsgiInput = 'buffered' ` +
          `so the server reads the body before calling the app.`,
      );
    }
    if (this.queue.length > 0) {
      // Merge what is left into one buffer once, so line scanning never crosses chunk edges.
      const parts = this.position < this.buffer.byteLength ? [this.buffer.subarray(this.position), ...this.queue] : this.queue;
      this.buffer = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
      this.position = 0;
      this.queue = [];
      this.queuedBytes = 0;
    }
  }

  private take(count: number): Uint8Array {
    if (count <= 0) return EMPTY;
    const start = this.position;
    this.position += count;
    return this.buffer.subarray(start, this.position);
  }
}
