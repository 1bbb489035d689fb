/**
 * The watchdog thread of a supervised worker (see watchdog.ts): every `beatMs` it writes one
 * heartbeat line, `<stalled ms> <in flight> <latest request>`, to the supervisor's pipe. It runs
 * while the worker's event loop is blocked, which is the point.
 */
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { shared, fd, beatMs, textBytes } = workerData as { shared: SharedArrayBuffer; fd: number; beatMs: number; textBytes: number };
const clock = new Float64Array(shared, 0, 1);
const counters = new Int32Array(shared, 8, 2);
const text = Buffer.from(shared, 16, textBytes);

function beat(): void {
  const stalled = Math.max(0, Math.round(Date.now() - clock[0]!));
  const length = Math.min(Math.max(counters[1]!, 0), textBytes);
  // Control characters would break the line format; a path never legitimately has them.
  const request = text.toString('latin1', 0, length).replace(/[\x00-\x1f\x7f]/g, '?');
  try {
    writeSync(fd, `${stalled} ${Math.max(counters[0]!, 0)} ${request}\n`);
  } catch {
    // The supervisor is gone or its pipe is full: the worker's IPC channel says the rest.
  }
}

setInterval(beat, beatMs);
beat();
