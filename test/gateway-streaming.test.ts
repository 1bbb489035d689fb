/**
 * Async gateway apps stream both ways with bounded memory (docs/spec.md §3 "stream" mode, §6
 * "Backpressure"), on both backends: a 100 MiB upload iterated slowly from `tsgi.input`, and a
 * 64 MiB async-generator response to a client that stops reading for a while.
 *
 * test/bodies.test.ts already covers streaming correctness at smaller sizes (a 20 MiB upload
 * read at full speed, chunked uploads, a 32 MiB slowly-read response whose producer did not run
 * to the end); this file adds what only large transfers with slow consumers show: the server's
 * memory stays bounded, the body limit does not apply to streamed input, and the producer
 * stalls while the client is paused.
 */
import { createHash } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import type { Environ, StartResponse } from '../src/index.js';
import { describeBackends, startServer, type TestServer } from './helpers.js';
import {
  decodeChunked,
  MiB,
  patternBytes,
  readSlowly,
  repeatedHash,
  sampleMemory,
  sha256,
  splitResponse,
  StallingConsumer,
  uploadUnderBackpressure,
} from './stream-helpers.js';

describeBackends('async gateway apps stream on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('a 100 MiB upload iterated slowly: no 413 (far above maxBodySize), bounded memory, intact', async () => {
    const total = 100 * MiB;
    const block = patternBytes(MiB);
    // The app stops reading three times for 200 ms while the client keeps sending.
    const consumer = new StallingConsumer([10 * MiB, 40 * MiB, 70 * MiB]);
    let seen: { bytes: number; chunks: number; hash: string } | null = null;
    server = await startServer(
      async (environ: Environ, startResponse: StartResponse) => {
        const hash = createHash('sha256');
        let bytes = 0;
        let chunks = 0;
        for await (const chunk of environ['tsgi.input']) {
          bytes += chunk.byteLength;
          chunks++;
          hash.update(chunk);
          await consumer.consumed(chunk.byteLength);
        }
        seen = { bytes, chunks, hash: hash.digest('hex') };
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return [`stored ${bytes}`];
      },
      backend,
      // The default limit (1 MiB) applies only to buffered input.
      { maxBodySize: 1024 * 1024 },
    );
    consumer.start();
    const sampler = sampleMemory();
    let peaks;
    let result;
    try {
      result = await uploadUnderBackpressure(
        server.port,
        `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`,
        block,
        total / MiB,
        { timeoutMs: 30_000 },
      );
    } finally {
      peaks = sampler.stop();
    }
    const response = splitResponse(result.raw);
    expect(response.status).toBe(200);
    expect(response.rest.toString()).toBe(`stored ${total}`);
    expect(seen!.bytes).toBe(total);
    expect(seen!.hash).toBe(repeatedHash(block, total / MiB));
    expect(seen!.chunks).toBeGreaterThan(1);
    // While the app was not reading, the server held a few chunks (its queue is 256 KiB), not
    // what the client sent; overall, far below the 100 MiB that buffering the upload would cost.
    expect(consumer.growthAtStalls).toHaveLength(3);
    for (const growth of consumer.growthAtStalls) expect(growth).toBeLessThan(16 * MiB);
    expect(peaks.samples).toBeGreaterThan(5);
    // The continuous sampler also sees transient socket buffers: a looser bound.
    expect(peaks.arrayBuffers).toBeLessThan(32 * MiB);
    expect(peaks.rss).toBeLessThan(64 * MiB);
  }, 40_000);

  it('a 64 MiB async-generator response to a paused client: the generator stalls, then all arrives intact', async () => {
    const total = 64 * MiB;
    const piece = 64 * 1024;
    let produced = 0;
    let finished = false;
    server = await startServer(
      async (_environ: Environ, startResponse: StartResponse) => {
        startResponse('200 OK', [['Content-Type', 'application/octet-stream']]);
        return (async function* () {
          for (let offset = 0; offset < total; offset += piece) {
            yield patternBytes(piece, offset);
            produced += piece;
          }
          finished = true;
        })();
      },
      backend,
    );
    const result = await readSlowly(server.port, 'GET /big HTTP/1.1\r\nHost: x\r\n\r\n', () => produced);
    const response = splitResponse(result.raw);
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toEqual(['chunked']);
    const body = decodeChunked(response.rest).body;
    expect(body.byteLength).toBe(total);
    expect(sha256(body)).toBe(sha256(patternBytes(total)));
    expect(finished).toBe(true);
    // While the client was not reading, the generator was not pulled: it stalled far from the end
    // (the kernel's socket buffers hold what it produced meanwhile), and stayed stalled.
    expect(result.producedAtStall).toBeGreaterThan(0);
    expect(result.producedAtStall).toBeLessThan(total / 4);
    expect(result.producedBeforeResume - result.producedAtStall).toBeLessThanOrEqual(MiB);
  }, 40_000);
});
