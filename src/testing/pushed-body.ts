/**
 * A response body an event app pushes with `send()` and the test pulls through `response.body`.
 * Nothing is buffered ahead of the reader: a pushed chunk waits until the test reads it, and the
 * app's `send()` resolves only then, so backpressure reaches the app as it would from a socket.
 */
export class PushedBody {
  readonly stream: ReadableStream<Uint8Array>;
  private controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  /** A chunk the app sent that no read has taken yet. */
  private offer: { bytes: Uint8Array; resolve: () => void; reject: (error: unknown) => void } | null = null;
  /** A read waiting for the app's next chunk. */
  private wanted: (() => void) | null = null;
  private over = false;

  /** `onCancel` runs when the test cancels the body: the client went away. */
  constructor(onCancel: () => void) {
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          const offer = this.offer;
          if (offer !== null) {
            this.offer = null;
            this.controller!.enqueue(offer.bytes);
            offer.resolve();
            return;
          }
          if (this.over) return;
          return new Promise<void>((resolve) => {
            this.wanted = resolve;
          });
        },
        cancel: () => {
          if (this.over) return;
          this.over = true;
          this.wakeReader();
          onCancel();
        },
      },
      { highWaterMark: 0 },
    );
  }

  get isOver(): boolean {
    return this.over;
  }

  /** Resolves when the test has read `bytes`. */
  push(bytes: Uint8Array): Promise<void> {
    if (this.wanted !== null) {
      this.controller!.enqueue(bytes);
      this.wakeReader();
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      this.offer = { bytes, resolve, reject };
    });
  }

  /** The body is complete. */
  close(): void {
    if (this.over) return;
    this.over = true;
    this.controller!.close();
    this.wakeReader();
  }

  /** The body failed: the reader gets `error`; a send() still waiting gets `forApp`. */
  error(error: unknown, forApp: unknown): void {
    if (this.over) return;
    this.over = true;
    this.controller!.error(error);
    this.wakeReader();
    this.rejectOffer(forApp);
  }

  /** The client went away: a send() still waiting rejects with `forApp`. */
  rejectOffer(forApp: unknown): void {
    const offer = this.offer;
    this.offer = null;
    offer?.reject(forApp);
  }

  private wakeReader(): void {
    const wanted = this.wanted;
    this.wanted = null;
    wanted?.();
  }
}
