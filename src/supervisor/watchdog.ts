/**
 * A worker's side of `--timeout`. The event loop stamps a shared clock every 100 ms and every
 * request writes its method and path into shared memory; a small thread reads both once per
 * heartbeat period and writes a heartbeat line to the supervisor's pipe. When the loop is stuck
 * (a sync app in an endless loop) the thread goes on beating, so the supervisor learns how long
 * the loop has been stuck and on which request, and a worker that stops beating at all is dead.
 */
import { Worker } from 'node:worker_threads';
import type { RequestObserver } from '../acceptors/types.js';

const TICK_MS = 100;
const TEXT_BYTES = 240;
/** Layout: [0, 8) loop clock (float64 ms), [8, 12) requests in flight (int32), [12, 16) text length, [16, …) text. */
const SHARED_BYTES = 16 + TEXT_BYTES;

export class RequestWatch implements RequestObserver {
  private readonly clock: Float64Array;
  private readonly counters: Int32Array;
  private readonly text: Buffer;
  private served = 0;
  private inFlight = 0;

  constructor(
    readonly shared: SharedArrayBuffer,
    /** Requests after which `onBudgetSpent` runs once; 0 = never. */
    private readonly budget: number,
    private readonly onBudgetSpent: (served: number) => void,
  ) {
    this.clock = new Float64Array(shared, 0, 1);
    this.counters = new Int32Array(shared, 8, 2);
    this.text = Buffer.from(shared, 16, TEXT_BYTES);
  }

  static create(budget: number, onBudgetSpent: (served: number) => void): RequestWatch {
    return new RequestWatch(new SharedArrayBuffer(SHARED_BYTES), budget, onBudgetSpent);
  }

  started(method: string, rawPath: string): void {
    this.counters[0] = ++this.inFlight;
    const text = this.text;
    const length = text.write(method, 0, 16, 'latin1');
    text[length] = 0x20;
    this.counters[1] = length + 1 + text.write(rawPath, length + 1, TEXT_BYTES - length - 1, 'latin1');
    if (++this.served === this.budget) this.onBudgetSpent(this.served);
  }

  ended(): void {
    this.counters[0] = --this.inFlight;
  }

  /** Stamps the loop clock now and every TICK_MS while the loop runs. */
  startClock(): void {
    this.clock[0] = Date.now();
    setInterval(() => (this.clock[0] = Date.now()), TICK_MS).unref();
  }

  /** Starts the thread that writes heartbeats to `fd` every `beatMs`. */
  startThread(fd: number, beatMs: number): Worker {
    const thread = new Worker(new URL('./watchdog-thread.js', import.meta.url), {
      workerData: { shared: this.shared, fd, beatMs, textBytes: TEXT_BYTES },
    });
    thread.unref();
    return thread;
  }
}
