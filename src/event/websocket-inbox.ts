/**
 * Messages from the client waiting for the app's `receive()`. A fast client and a slow app must
 * not cost unbounded memory: past a high-water mark the link stops reading (the client's TCP
 * window fills and it slows down) and reading resumes once the app has caught up. A link that
 * cannot pause (uWS v20 has no websocket pause) gets a hard bound instead: past it the
 * connection is closed with 1008, since the only alternative is to buffer without limit.
 */
import type { ReceiveMessage } from '../spec/event-types.js';

/** Pause reading past either mark... */
const PAUSE_MESSAGES = 32;
const PAUSE_BYTES = 1024 * 1024;
/** ...and resume once the queue is back under both of these. */
const RESUME_MESSAGES = 8;
const RESUME_BYTES = 256 * 1024;
/** Links that cannot pause: close past either bound (a single message of any size always fits). */
export const HARD_MESSAGES = 4096;
export const HARD_BYTES = 64 * 1024 * 1024;

export interface InboxFlow {
  pause(): void;
  resume(): void;
  /** Called once when a link that cannot pause passes the hard bound. */
  overflow(): void;
}

export class Inbox {
  private readonly messages: Array<ReceiveMessage | null> = [];
  private readonly sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  private paused = false;
  private overflowed = false;
  private waiters: Array<(message: ReceiveMessage) => void> | null = null;
  /** Set when the connection ended: every receive() after the queue drains returns it. */
  private last: ReceiveMessage | null = null;

  /** Whether the link can pause reading; known once the connection opens. */
  canPause = false;

  constructor(private readonly flow: InboxFlow) {}

  get length(): number {
    return this.messages.length - this.head;
  }

  take(): Promise<ReceiveMessage> {
    if (this.head < this.messages.length) return Promise.resolve(this.shift());
    if (this.last !== null) return Promise.resolve(this.last);
    return new Promise((resolve) => (this.waiters ??= []).push(resolve));
  }

  push(message: ReceiveMessage, size: number): void {
    if (this.last !== null) return;
    const waiters = this.waiters;
    if (waiters !== null) {
      const resolve = waiters.shift()!;
      if (waiters.length === 0) this.waiters = null;
      resolve(message);
      return;
    }
    this.messages.push(message);
    this.sizes.push(size);
    this.bytes += size;
    const count = this.length;
    if (this.canPause) {
      if (!this.paused && (count > PAUSE_MESSAGES || this.bytes > PAUSE_BYTES)) {
        this.paused = true;
        this.flow.pause();
      }
    } else if (!this.overflowed && count > 1 && (count > HARD_MESSAGES || this.bytes > HARD_BYTES)) {
      this.overflowed = true;
      this.flow.overflow();
    }
  }

  /** The connection ended: queued messages are still delivered, then `message` forever. */
  end(message: ReceiveMessage): void {
    if (this.last !== null) return;
    this.last = message;
    this.paused = false;
    const waiters = this.waiters;
    if (waiters === null) return;
    this.waiters = null;
    for (const resolve of waiters) resolve(message);
  }

  private shift(): ReceiveMessage {
    const message = this.messages[this.head]!;
    this.messages[this.head] = null;
    this.bytes -= this.sizes[this.head]!;
    this.head++;
    // A moving head instead of shift(): O(1) per message. The consumed prefix is dropped when the
    // queue empties or grows past half of the array, so a queue that never empties stays small.
    if (this.head === this.messages.length) {
      this.messages.length = 0;
      this.sizes.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.messages.length) {
      this.messages.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.length <= RESUME_MESSAGES && this.bytes <= RESUME_BYTES) {
      this.paused = false;
      this.flow.resume();
    }
    return message;
  }
}
