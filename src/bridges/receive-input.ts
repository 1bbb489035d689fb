/**
 * `tsgi.input` fed from an event app's `receive()`. The core's RequestInput does the queueing and
 * the sync-read rules; this pump only moves `http.request` messages into it, and stops calling
 * `receive()` while the input is paused, so the host's own backpressure reaches the client.
 */
import { RequestInput, type InputOwner } from '../core/input.js';
import type { InputMode } from '../spec/types.js';
import type { Receive } from '../spec/event-types.js';

export class BodyTooLarge extends Error {}

export class ReceiveInput implements InputOwner {
  readonly input: RequestInput;
  private paused = false;
  private pumping = false;
  private done = false;
  private complete: (() => void) | null = null;
  private overflowed = false;

  constructor(
    private readonly receive: Receive,
    mode: InputMode,
    limit: number,
  ) {
    this.input = new RequestInput(this, mode, limit);
  }

  /** Buffered mode: resolves once the whole body is in; rejects with BodyTooLarge past the limit. */
  async readAll(): Promise<void> {
    const finished = new Promise<void>((resolve) => {
      this.complete = resolve;
    });
    this.pump();
    await finished;
    if (this.overflowed) throw new BodyTooLarge('request body exceeds the limit');
  }

  /** Stream mode: starts moving messages into the input. */
  start(): void {
    this.pump();
  }

  onInputComplete(): void {
    this.finish();
  }

  onInputOverflow(): void {
    this.overflowed = true;
    this.finish();
  }

  pauseInput(): void {
    this.paused = true;
  }

  resumeInput(): void {
    this.paused = false;
    this.pump();
  }

  private finish(): void {
    this.done = true;
    const complete = this.complete;
    this.complete = null;
    complete?.();
  }

  private pump(): void {
    if (this.pumping || this.done) return;
    this.pumping = true;
    void this.loop().finally(() => {
      this.pumping = false;
    });
  }

  private async loop(): Promise<void> {
    try {
      while (!this.paused && !this.done) {
        const message = await this.receive();
        if (message.type === 'http.request') {
          const last = !message.more_body;
          this.input.onBodyChunk(message.body ?? new Uint8Array(0), last);
          if (last) this.finish();
        } else if (message.type === 'http.disconnect') {
          this.input.fail(new Error('the client disconnected before the request body was complete'));
          this.finish();
        }
      }
    } catch (error) {
      this.input.fail(error instanceof Error ? error : new Error(String(error)));
      this.finish();
    }
  }
}
