/**
 * The body compress() hands the server for a streamed gateway response: an async iterable that
 * pulls the app's next chunk only when the server asks for the next compressed one (so the
 * server's backpressure reaches the app), compresses it with a flush (so a slow stream's chunks
 * are not held back), and closes the app's body exactly once, however the response ends.
 */
import { chunkBytes, closerOf, isAsyncIterable } from '../shared/body.js';
import type { BodyChunk } from '../../spec/types.js';
import { StreamEncoder } from './encoder.js';
import type { GatewayExchange } from './gateway.js';
import { Mode } from './mode.js';

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined }) as IteratorReturnResult<undefined>;

export class CompressedBody implements AsyncIterableIterator<BodyChunk> {
  /** The server has had the last chunk, or stopped early: nothing more is pulled. */
  finished = false;
  private readonly iterator: Iterator<unknown> | AsyncIterator<unknown>;
  private readonly closeInner: () => void | Promise<void>;
  private encoder: StreamEncoder | null = null;
  /** Compressed output not yet handed to the server (a big chunk can give several pieces). */
  private output: Buffer[] = [];
  private innerDone = false;

  constructor(
    private readonly exchange: GatewayExchange,
    inner: Iterable<unknown> | AsyncIterable<unknown>,
  ) {
    this.closeInner = closerOf(inner);
    // Asking for the iterator runs app code: a throw here reaches the server from the wrapper
    // (which closes the app's body, as the server never sees it).
    this.iterator = isAsyncIterable(inner) ? inner[Symbol.asyncIterator]() : (inner as Iterable<unknown>)[Symbol.iterator]();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<BodyChunk>> {
    try {
      return await this.step();
    } catch (error) {
      // The app's body raised (or a chunk was not a chunk): the server aborts the response and
      // then calls close().
      this.stop(false);
      throw error;
    }
  }

  private async step(): Promise<IteratorResult<BodyChunk>> {
    const exchange = this.exchange;
    for (;;) {
      if (this.finished) return DONE;
      const ready = this.output.shift();
      if (ready !== undefined) {
        exchange.produced = true;
        return { done: false, value: ready };
      }
      if (exchange.mode === Mode.Compress) {
        // write() output precedes the body chunks that follow it.
        const written = exchange.takeWrite();
        if (written !== undefined) {
          await this.encode(written);
          continue;
        }
      }
      if (this.innerDone) {
        if (exchange.mode === Mode.Compress) {
          // Always a complete stream, even for an empty body: clients reject a truncated one.
          const last = await (this.encoder ??= new StreamEncoder(exchange.encoding!, exchange.config)).end();
          this.encoder = null;
          if (this.finished) return DONE;
          if (last.byteLength > 0) this.output.push(last);
        }
        this.finished = true;
        const ready = this.output.shift();
        if (ready === undefined) return DONE;
        exchange.produced = true;
        return { done: false, value: ready };
      }
      const step = await this.iterator.next();
      if (this.finished) return DONE;
      // startResponse called lazily, during the body's iteration: the body is known to stream.
      if (exchange.mode === Mode.Deferred) exchange.commitStreamed();
      if (step.done === true) {
        this.innerDone = true;
        continue;
      }
      const chunk = step.value;
      // Not compressing (or startResponse never called): the server gets the chunk as it is,
      // and judges it.
      if (exchange.mode !== Mode.Compress) return { done: false, value: chunk as BodyChunk };
      if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) {
        throw new TypeError(
          `a body chunk must be a string or a Uint8Array; got ${chunk === null ? 'null' : typeof chunk}. Encode ` +
            `objects first (for example JSON.stringify(value))`,
        );
      }
      // Chunks written while this one was produced were written before it.
      for (let written = exchange.takeWrite(); written !== undefined; written = exchange.takeWrite()) await this.encode(written);
      if (this.finished) return DONE;
      const bytes = chunkBytes(chunk);
      if (bytes.byteLength > 0) await this.encode(bytes);
    }
  }

  private async encode(bytes: Uint8Array): Promise<void> {
    const out = await (this.encoder ??= new StreamEncoder(this.exchange.encoding!, this.exchange.config)).write(bytes);
    if (!this.finished && out.byteLength > 0) this.output.push(out);
  }

  /**
   * A replacement head (startResponse with excInfo) turned the response uncompressed before any
   * compressed byte went out: the rest of the body passes through.
   */
  stopCompressing(): void {
    this.encoder?.destroy();
    this.encoder = null;
    this.output = [];
  }

  /** The server stopped early (client gone, error): the app's iterator is told to stop too. */
  async return(): Promise<IteratorResult<BodyChunk>> {
    const result = this.stop(true);
    if (result !== undefined) await result;
    return DONE;
  }

  /** Called by the server exactly once when the response is over; closes the app's body once. */
  close(): void | Promise<void> {
    const stopped = this.stop(true);
    // return()'s own failure is the app's business; close() reports close()'s.
    if (stopped !== undefined) stopped.then(undefined, () => {});
    return this.closeInner();
  }

  /**
   * Ends the walk: frees the compressor and, when the app's iterator may still be running (not
   * exhausted, not failed) and `returnInner`, calls its return() so a generator's finally
   * blocks run. Returns what that return() returned, when it is a promise.
   */
  private stop(returnInner: boolean): Promise<unknown> | undefined {
    if (this.finished) return undefined;
    this.finished = true;
    this.encoder?.destroy();
    this.encoder = null;
    this.output = [];
    if (!returnInner || this.innerDone) return undefined;
    const iterator = this.iterator;
    if (typeof iterator.return !== 'function') return undefined;
    try {
      const result: unknown = iterator.return();
      return result instanceof Promise ? result : undefined;
    } catch {
      // A sync generator stopped from inside itself (a write() in its body) is finishing anyway.
      return undefined;
    }
  }
}
