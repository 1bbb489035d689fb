/**
 * A response body stream that an event app fills through `send()`, with the consumer's
 * backpressure: `push()` resolves at once while the stream's queue is under its high-water mark,
 * and otherwise when the consumer (the runtime writing to its socket) pulls; it rejects once the
 * consumer cancelled the stream (the client left).
 */

/** Bytes queued ahead of the consumer before push() waits: the tsgi server's request-body queue. */
const HIGH_WATER_MARK = 64 * 1024;

export class PushedBody {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** push() calls waiting for room (an app that awaits each send() has at most one). */
  private waiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private failure: Error | null = null;
  /** An error to raise once the consumer has read what was queued before it. */
  private pendingError: Error | null = null;

  /** `onCancel` runs when the consumer cancels; `cancelled()` gives the error later pushes reject with. */
  constructor(onCancel: () => void, cancelled: () => Error) {
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          if (this.pendingError !== null) {
            if (this.queueEmpty()) this.controller.error(this.pendingError);
            return;
          }
          // The consumer wants more: the waiting push() may return.
          const waiters = this.waiters;
          this.waiters = [];
          for (const waiter of waiters) waiter.resolve();
        },
        cancel: () => {
          this.settle(cancelled());
          onCancel();
        },
      },
      { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
    );
  }

  push(bytes: Uint8Array): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    this.controller.enqueue(bytes);
    if ((this.controller.desiredSize ?? 0) > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
    });
  }

  close(last: Uint8Array): void {
    if (this.failure !== null) return;
    if (last.byteLength > 0) this.controller.enqueue(last);
    this.controller.close();
    this.failure = new Error('the response body is complete');
  }

  /**
   * Errors the stream, so the consumer sees a failed body (never a whole one), once it has read
   * what the app sent before: erroring a stream drops its queue, and those bytes were sent.
   */
  error(reason: Error): void {
    if (this.failure !== null) return;
    this.settle(reason);
    if (this.queueEmpty()) this.controller.error(reason);
    else this.pendingError = reason;
  }

  private queueEmpty(): boolean {
    return this.controller.desiredSize === HIGH_WATER_MARK;
  }

  /**
   * The client left by other means (request.signal): pushes reject from now on. The stream is left
   * to its consumer, which cancels it (runtimes do when the client leaves); erroring it here would
   * make Deno log the error as a failed response.
   */
  abandon(reason: Error): void {
    if (this.failure !== null) return;
    this.settle(reason);
  }

  private settle(reason: Error): void {
    this.failure ??= reason;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(reason);
  }
}
