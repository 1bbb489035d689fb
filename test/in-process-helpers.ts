/**
 * Small tools shared by the TestClient suites: a queue the app pushes to and the test waits on
 * (no sleeps, no polling), a request body fed chunk by chunk, and an event app's whole request body.
 */
import type { Receive } from '../src/index.js';

export type Kind = 'gateway' | 'event';
export const KINDS: Kind[] = ['gateway', 'event'];

export const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array(0)).toString('utf8');

/** A queue the app pushes to and the test waits on. */
export class Signal<T = string> {
  private values: T[] = [];
  private waiters: Array<(value: T) => void> = [];
  push(value: T): void {
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter(value);
    else this.values.push(value);
  }
  next(): Promise<T> {
    if (this.values.length > 0) return Promise.resolve(this.values.shift()!);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** A request body the test feeds chunk by chunk. */
export function upload(): { stream: ReadableStream<Uint8Array>; push(chunk: string): void; end(): void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
  return { stream, push: (chunk) => controller.enqueue(Buffer.from(chunk)), end: () => controller.close() };
}

/** Every `http.request` message's body, joined, until `more_body` is false. */
export async function readAll(receive: Receive): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (;;) {
    const message = await receive();
    if (message.type !== 'http.request') break;
    parts.push(message.body);
    if (!message.more_body) break;
  }
  return Buffer.concat(parts);
}
