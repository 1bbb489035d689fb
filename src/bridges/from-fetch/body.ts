/**
 * One fetch request's side of `receive()`: its body, read either whole (`text()`, `json()`, …,
 * without a stream in between) or as a `ReadableStream` that asks for the next chunk only when
 * the handler reads (backpressure reaches the socket), and the watch for the client going away
 * that aborts `request.signal`.
 *
 * `receive()` is the only way to learn of a disconnect, and it also hands out the body, so the
 * watch starts only once the body is read to its end (or at once when there is none): before
 * that, a disconnect shows up in the body read itself.
 */
import type { Receive } from '../../spec/event-types.js';

const enum Body {
  /** GET, HEAD, or no body framing: nothing to read. */
  None,
  /** Not read yet. */
  Unread,
  /** Being read (a stream made, or a whole read under way). */
  Reading,
  /** Read to its end. */
  Done,
  /** The client left before the end. */
  Failed,
}

const EMPTY = new Uint8Array(0);

export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

export class RequestBodySource {
  #state: Body;
  readonly #receive: Receive;
  /** Set when the client leaves before the response is complete. */
  #abort: ((reason: Error) => void) | null = null;
  #watching = false;
  #gone: Error | null = null;
  /** The response is complete (or was given up): a disconnect from now on is no abort. */
  responded = false;
  /** The stream from stream() was read or cancelled (the body is "disturbed"). */
  streamTouched = false;

  constructor(receive: Receive, hasBody: boolean) {
    this.#receive = receive;
    this.#state = hasBody ? Body.Unread : Body.None;
  }

  get hasBody(): boolean {
    return this.#state !== Body.None;
  }

  /** Calls `abort` when the client leaves before the response is complete (at most once). */
  onClientGone(abort: (reason: Error) => void): void {
    if (this.#gone !== null) {
      abort(this.#gone);
      return;
    }
    this.#abort = abort;
    if (this.#state === Body.None || this.#state === Body.Done) this.#watch();
  }

  #clientGone(): Error {
    const error = new ClientGoneError(
      this.responded
        ? 'the request body is no longer there: the response was complete (read the body before answering)'
        : 'the client disconnected before the response was complete',
    );
    if (this.#gone === null && !this.responded) {
      this.#gone = error;
      const abort = this.#abort;
      this.#abort = null;
      abort?.(error);
    }
    return error;
  }

  /** After the body (or when there is none): the next message is http.disconnect, now or when the response ends. */
  #watch(): void {
    if (this.#watching || this.#abort === null) return;
    this.#watching = true;
    // A request without a body still has its one empty http.request message to take first.
    const next = this.#state === Body.None ? this.#receive().then((message) => (message.type === 'http.request' ? this.#receive() : message)) : this.#receive();
    void next.then((message) => {
      if (message.type === 'http.disconnect') this.#clientGone();
    });
  }

  #finished(): void {
    this.#state = Body.Done;
    this.#watch();
  }

  /** The next body chunk, or null at the end; rejects if the client left first. */
  async #next(): Promise<Uint8Array | null> {
    const message = await this.#receive();
    if (message.type !== 'http.request') {
      this.#state = Body.Failed;
      throw this.#clientGone();
    }
    if (!message.more_body) {
      this.#finished();
      return message.body.byteLength > 0 ? message.body : null;
    }
    return message.body;
  }

  /** Claims the body for one reader; false when it was claimed before. */
  claim(): boolean {
    if (this.#state !== Body.Unread) return false;
    this.#state = Body.Reading;
    return true;
  }

  /** The whole body, for a reader that claimed it. */
  async readAll(): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#state !== Body.Done) {
      const chunk = await this.#next();
      if (chunk !== null && chunk.byteLength > 0) {
        parts.push(chunk);
        size += chunk.byteLength;
      }
    }
    if (parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
  }

  /** The body as a stream, for a reader that claimed it: one receive() per read. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          this.streamTouched = true;
          try {
            // Skip empty chunks: a read must end with a chunk or the end of the stream.
            for (;;) {
              const chunk = await this.#next();
              if (chunk !== null && chunk.byteLength > 0) controller.enqueue(chunk);
              if (this.#state === Body.Done) {
                controller.close();
                return;
              }
              if (chunk !== null && chunk.byteLength > 0) return;
            }
          } catch (error) {
            controller.error(new ClientGoneError('the client disconnected before the request body was complete', { cause: error }));
          }
        },
        cancel: () => {
          this.streamTouched = true;
        },
      },
      { highWaterMark: 0 },
    );
  }
}
