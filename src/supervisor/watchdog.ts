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
/** Room for the method, a space and the first ~200 bytes of the path. */
const TEXT_BYTES = 224;
/** Layout: [0, 8) loop clock (float64 ms), [8, 12) requests in flight (int32), [12, 16) text length, [16, …) text. */
const SHARED_BYTES = 16 + TEXT_BYTES;

export class RequestWatch implements RequestObserver {
  private readonly clock: Float64Array;
  private readonly counters: Int32Array;
  private readonly text: Buffer;
  private served = 0;
  private inFlight = 0;
  private lastMethod = '';
  private lastPath = '';

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
    // A byte loop, not Buffer#write: native writes into shared memory cost ~300 ns, this ~80 ns;
    // and a request like the last one (the common case under load) writes nothing.
    if (method !== this.lastMethod || rawPath !== this.lastPath) {
      this.lastMethod = method;
      this.lastPath = rawPath;
      const text = this.text;
      let at = 0;
      const methodEnd = Math.min(method.length, 16);
      for (let i = 0; i < methodEnd; i++) text[at++] = method.charCodeAt(i);
      text[at++] = 0x20;
      const pathEnd = Math.min(rawPath.length, TEXT_BYTES - at);
      for (let i = 0; i < pathEnd; i++) text[at++] = rawPath.charCodeAt(i);
      this.counters[1] = at;
    }
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
