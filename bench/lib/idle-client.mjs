// idle-10k's client, run as its own process (it needs ten thousand file descriptors, and the
// harness raises the limit for it the same way it does for servers):
//
//   node bench/lib/idle-client.mjs --port 8000 --count 10000
//
// Opens `count` keep-alive connections, each sends one GET /hello and waits for the whole
// answer, then all of them stay open and idle. Talks to the harness in JSON lines: prints
// {"event":"ready",...} once the connections are up, then answers "count" (how many are still
// open: servers close idle connections after their keep-alive timeout) and "exit".
import net from 'node:net';
import { createInterface } from 'node:readline';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const port = option('--port', 0);
const count = option('--count', 10_000);
// Connections opened at once: beyond the listen backlog, SYNs get dropped and retried a second
// later, which would only make the run slower.
const concurrency = option('--concurrency', 200);

const open = new Set();
let answered = 0;
let failed = 0;
let firstError = null;
let next = 0;

/** One connection: request, read a complete response (Content-Length framed), then idle. */
function openOne() {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let buffered = Buffer.alloc(0);
    let done = false;
    const settle = (ok, error) => {
      if (done) return;
      done = true;
      if (ok) answered++;
      else {
        failed++;
        firstError ??= error?.code ?? error?.message ?? 'closed before answering';
        socket.destroy();
      }
      resolve(ok);
    };
    socket.on('connect', () => {
      open.add(socket);
      socket.write(`GET /hello HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    });
    socket.on('data', (chunk) => {
      if (done) return;
      buffered = Buffer.concat([buffered, chunk]);
      const headEnd = buffered.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const length = Number(/content-length:\s*(\d+)/i.exec(buffered.subarray(0, headEnd).toString('latin1'))?.[1] ?? 0);
      if (buffered.length >= headEnd + 4 + length) {
        buffered = Buffer.alloc(0);
        settle(true);
      }
    });
    socket.on('error', (error) => settle(false, error));
    socket.on('close', () => {
      open.delete(socket);
      settle(false);
    });
  });
}

async function worker() {
  while (next < count) {
    next++;
    const ok = await openOne();
    // Out of descriptors (or ports): more attempts would only fail the same way.
    if (!ok && /EMFILE|ENFILE|EADDRNOTAVAIL/.test(firstError ?? '')) {
      next = count;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');
say({ event: 'ready', requested: count, answered, failed, open: open.size, firstError, seconds: (performance.now() - started) / 1000 });

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'count') say({ event: 'count', open: open.size });
  if (line === 'exit') {
    for (const socket of open) socket.destroy();
    process.exit(0);
  }
});
process.stdin.on('end', () => process.exit(0));
