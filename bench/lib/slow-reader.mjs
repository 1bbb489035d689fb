// slow-100m's client: one raw TCP connection that asks for a 100 MiB response and reads it in
// small bursts (one socket read, then a pause). A server that honours backpressure holds about a
// chunk in memory; one that does not buffers the whole difference between its speed and ours.
import net from 'node:net';

const TIMEOUT_MS = 120_000;
// The end of a chunked body: the zero-length last chunk.
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

export function readSlowly({ port, path, expectedBytes, pauseMs }) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = 0;
    let tail = Buffer.alloc(0);
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const seconds = (performance.now() - started) / 1000;
      if (error) reject(error);
      else resolve({ receivedBytes: received, seconds, bytesPerSecond: received / seconds });
    };
    const timer = setTimeout(() => finish(new Error(`slow read of ${path} did not finish within ${TIMEOUT_MS / 1000}s (${received} bytes in)`)), TIMEOUT_MS);
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      received += chunk.length;
      tail = Buffer.concat([tail, chunk.subarray(-LAST_CHUNK.length)]).subarray(-LAST_CHUNK.length);
      if (received >= expectedBytes && tail.equals(LAST_CHUNK)) return finish();
      // One burst taken: stop reading so the kernel buffers fill and the server feels it.
      socket.pause();
      setTimeout(() => socket.resume(), pauseMs);
    });
    socket.on('end', () => {
      if (received >= expectedBytes) finish();
      else finish(new Error(`the server closed ${path} after ${received} of at least ${expectedBytes} bytes`));
    });
    socket.on('error', (error) => finish(error));
  });
}
