/**
 * Helpers for the large-transfer suites (event-http, gateway-streaming): deterministic payloads,
 * a raw client that uploads under TCP backpressure, a raw client that stops reading a response
 * for a while, and a memory sampler for the server, which runs in the test process.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';

export const MiB = 1024 * 1024;

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic bytes: byte i is (i * 7 + 3) mod 251, so misplaced or lost bytes change the hash. */
export function patternBytes(size: number, offset = 0): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = ((offset + i) * 7 + 3) % 251;
  return out;
}

/** sha256 of `block` repeated `times` times, without building the whole thing. */
export function repeatedHash(block: Uint8Array, times: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i < times; i++) hash.update(block);
  return hash.digest('hex');
}

/**
 * A full garbage collection, so memory samples count what is retained rather than garbage V8 has
 * not collected yet (V8 lets up to ~64 MiB of dead external buffers pile up before it collects,
 * which would otherwise drown the signal). `--expose-gc` is switched on for this process only.
 */
export const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

/** `process.memoryUsage().arrayBuffers` after a full GC: what is retained, not garbage. */
export function retainedArrayBuffers(): number {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
}

/**
 * A slow consumer for upload tests: call `consumed(n)` after taking n bytes. At each of the
 * `stallAt` byte counts it stops for `stallMs` (the sender keeps sending), then records how much
 * more memory the process retains than at `start()` — what the server queued meanwhile.
 * A server that stops reading past its queue limit retains a few chunks; one that does not
 * retains whatever the client managed to send during the stall.
 */
export class StallingConsumer {
  private base = 0;
  private readonly pending: number[];
  /** Retained growth measured at the end of each stall. */
  readonly growthAtStalls: number[] = [];
  private total = 0;

  constructor(
    stallAt: number[],
    private readonly stallMs = 200,
  ) {
    this.pending = [...stallAt];
  }

  start(): void {
    this.base = retainedArrayBuffers();
  }

  async consumed(bytes: number): Promise<void> {
    this.total += bytes;
    while (this.pending.length > 0 && this.total >= this.pending[0]!) {
      this.pending.shift();
      await new Promise((resolve) => setTimeout(resolve, this.stallMs));
      this.growthAtStalls.push(retainedArrayBuffers() - this.base);
    }
  }
}

export interface MemoryPeaks {
  /** Largest growth of `process.memoryUsage().arrayBuffers` over the baseline, after a GC. */
  arrayBuffers: number;
  /** Largest growth of the heap in use over the baseline, after a GC. */
  heapUsed: number;
  /** Largest growth of the resident set over the baseline. */
  rss: number;
  samples: number;
}

/**
 * Samples this process's memory every `intervalMs` (each sample after a full GC) until `stop()`.
 * The baseline is taken after a GC at the start.
 */
export function sampleMemory(intervalMs = 50): { stop(): MemoryPeaks } {
  collectGarbage();
  const base = process.memoryUsage();
  const peaks: MemoryPeaks = { arrayBuffers: 0, heapUsed: 0, rss: 0, samples: 0 };
  const sample = (): void => {
    collectGarbage();
    const now = process.memoryUsage();
    peaks.arrayBuffers = Math.max(peaks.arrayBuffers, now.arrayBuffers - base.arrayBuffers);
    peaks.heapUsed = Math.max(peaks.heapUsed, now.heapUsed - base.heapUsed);
    peaks.rss = Math.max(peaks.rss, now.rss - base.rss);
    peaks.samples++;
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peaks;
    },
  };
}

/**
 * Opens a raw connection, sends `head`, then writes `block` `times` times as fast as TCP allows:
 * after every write the client waits for 'drain', so the client itself never holds more than
 * one block. Resolves with everything the server answered once it closed the connection or
 * answered a complete response (Content-Length or chunked) — the caller parses it.
 */
export function uploadUnderBackpressure(
  port: number,
  head: string,
  block: Uint8Array,
  times: number,
  options: { timeoutMs?: number; trailer?: string } = {},
): Promise<{ raw: Buffer; bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const response = new ResponseCollector();
    let bytesWritten = 0;
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === null) resolve({ raw: response.bytes(), bytesWritten });
      else reject(error);
    };
    const timer = setTimeout(() => finish(new Error(`upload timed out after ${bytesWritten} bytes`)), options.timeoutMs ?? 30_000);
    socket.on('data', (chunk: Buffer) => {
      if (response.push(chunk)) finish(null);
    });
    socket.on('close', () => finish(null));
    socket.on('error', (error) => finish(error));
    socket.on('connect', async () => {
      socket.write(head);
      for (let i = 0; i < times && !settled; i++) {
        bytesWritten += block.byteLength;
        if (!socket.write(block)) {
          await new Promise<void>((resume) => {
            const done = (): void => {
              socket.off('drain', done);
              socket.off('close', done);
              resume();
            };
            socket.on('drain', done);
            socket.on('close', done);
          });
        }
      }
      if (options.trailer !== undefined && !settled) socket.write(options.trailer);
    });
  });
}

/**
 * Collects a response's bytes and says when it is complete (Content-Length or chunked framing)
 * without re-scanning everything on every chunk: large bodies arrive in thousands of pieces.
 */
export class ResponseCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private bodyStart = -1;
  private length = -1;
  private chunked = false;
  private tail: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.bodyStart === -1) {
      const raw = this.bytes();
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return false;
      this.bodyStart = end + 4;
      const head = raw.subarray(0, end).toString('latin1').toLowerCase();
      const length = /\r\ncontent-length: *(\d+)/.exec(head);
      if (length !== null) this.length = Number(length[1]);
      else this.chunked = head.includes('transfer-encoding: chunked');
      this.tail = raw.subarray(Math.max(0, raw.length - 5));
      return this.check(true);
    }
    this.tail = Buffer.concat([this.tail, chunk]).subarray(-5);
    return this.check(false);
  }

  private check(force: boolean): boolean {
    if (this.length !== -1) return this.size >= this.bodyStart + this.length;
    if (!this.chunked) return false;
    // The last chunk ends with 0 CRLF CRLF (no trailers here); only then decode the whole body.
    if (!force && this.tail.toString('latin1') !== '0\r\n\r\n') return false;
    try {
      decodeChunked(this.bytes().subarray(this.bodyStart));
      return true;
    } catch {
      return false;
    }
  }

  bytes(): Buffer {
    if (this.chunks.length > 1) {
      const whole = Buffer.concat(this.chunks);
      this.chunks.length = 0;
      this.chunks.push(whole);
    }
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  get received(): number {
    return this.size;
  }
}

export interface ChunkedBody {
  body: Buffer;
  /** Trailer fields after the last chunk, names lower-cased. */
  trailers: Array<[string, string]>;
}

/** Decodes a chunked body (with its trailer section); throws when the framing is incomplete. */
export function decodeChunked(raw: Buffer): ChunkedBody {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', pos);
    if (lineEnd === -1) throw new Error('incomplete chunked body');
    const size = parseInt(raw.subarray(pos, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunk size');
    pos = lineEnd + 2;
    if (size === 0) {
      const trailers: Array<[string, string]> = [];
      for (;;) {
        const end = raw.indexOf('\r\n', pos);
        if (end === -1) throw new Error('incomplete trailer section');
        if (end === pos) return { body: Buffer.concat(parts), trailers };
        const line = raw.subarray(pos, end).toString('latin1');
        const colon = line.indexOf(':');
        trailers.push([line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]);
        pos = end + 2;
      }
    }
    if (raw.length < pos + size + 2) throw new Error('incomplete chunked body');
    parts.push(raw.subarray(pos, pos + size));
    pos += size + 2;
  }
}

/** Splits a raw response into its head (lower-cased header map) and the bytes after it. */
export function splitResponse(raw: Buffer): { status: number; headers: Map<string, string[]>; rest: Buffer } {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`no complete response head in ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))}`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  return { status: Number(lines[0]!.split(' ')[1]), headers, rest: raw.subarray(end + 4) };
}

export interface SlowReadResult {
  raw: Buffer;
  /** The producer's counter once it had stalled: unchanged for `quietMs` while the client did not read. */
  producedAtStall: number;
  /** How long after the client paused the counter last moved. */
  stalledAfterMs: number;
  /** The same counter `holdMs` after the stall, just before the client resumed. */
  producedBeforeResume: number;
}

/**
 * Sends `request`, reads the first `readFirst` bytes, then stops reading until `produced()` has
 * not changed for `quietMs` (the producer stalled), keeps not reading for `holdMs` more (sampling
 * `produced()` at both ends), then reads to the end of a chunked or Content-Length response.
 * Fails when the producer does not stall within `stallTimeoutMs` of the pause.
 *
 * Why wait for a stall rather than sleep a fixed time: once the client stops reading, the kernel
 * does not fill the connection's buffers at once. Loopback segments are ~64 KiB, so when the
 * client's receive buffer is nearly full its window drops below one segment, the server's TCP
 * holds the remaining bytes back (silly-window avoidance), and only its zero-window-probe
 * (persist) timer, or the retransmission timer for segments the full receive buffer dropped —
 * both at least TCP_RTO_MIN = 200 ms, doubling on each retry — moves the last bytes. The kernel
 * reports the server's socket writable again once its send queue is back under two thirds of
 * the send buffer, so when such a step frees that much, the producer is rightly asked for up to
 * a third of the buffer more (1.4 MB of the 4 MiB maximum, in one burst). Measured with
 * ss -tmio, the last step comes 100-400 ms after the pause with gaps of up to ~270 ms between
 * steps, so a sample taken 300 ms after the pause often came before it. After the last step
 * the receive window is closed and the producer stays stalled for good: `quietMs` only has to
 * outlast one timer step and a retry.
 */
export function readSlowly(
  port: number,
  request: string,
  produced: () => number,
  options: {
    readFirst?: number;
    quietMs?: number;
    holdMs?: number;
    stallTimeoutMs?: number;
    timeoutMs?: number;
  } = {},
): Promise<SlowReadResult> {
  const readFirst = options.readFirst ?? 256 * 1024;
  const quietMs = options.quietMs ?? 1000;
  const holdMs = options.holdMs ?? 500;
  const stallTimeoutMs = options.stallTimeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const response = new ResponseCollector();
    let paused = false;
    let resumed = false;
    let complete = false;
    let producedAtStall = -1;
    let stalledAfterMs = -1;
    let producedBeforeResume = -1;
    let settled = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearInterval(poll);
      socket.destroy();
      if (error !== null) reject(error);
      else resolve({ raw: response.bytes(), producedAtStall, stalledAfterMs, producedBeforeResume });
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${response.received} bytes`)), options.timeoutMs ?? 30_000);
    const resume = (): void => {
      producedBeforeResume = produced();
      resumed = true;
      if (complete) finish(null);
      else socket.resume();
    };
    const waitForStall = (): void => {
      const pausedAt = performance.now();
      let last = produced();
      let lastChange = pausedAt;
      poll = setInterval(() => {
        const now = performance.now();
        const current = produced();
        if (current !== last) {
          last = current;
          lastChange = now;
        }
        if (now - lastChange >= quietMs) {
          clearInterval(poll);
          producedAtStall = current;
          stalledAfterMs = Math.round(lastChange - pausedAt);
          setTimeout(resume, holdMs);
        } else if (now - pausedAt >= stallTimeoutMs) {
          finish(new Error(`the producer did not stall: at ${current} bytes, still moving ${stallTimeoutMs} ms after the pause`));
        }
      }, 10);
    };
    socket.on('connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      complete = response.push(chunk);
      if (!paused && response.received >= readFirst) {
        paused = true;
        socket.pause();
        waitForStall();
      }
      if (resumed && complete) finish(null);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection closed after ${response.received} bytes`)));
  });
}
