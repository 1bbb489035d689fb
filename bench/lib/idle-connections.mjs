// Runs bench/lib/idle-client.mjs as a child process (with the descriptor limit raised to the
// hard limit) and speaks its JSON-lines protocol.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stopChild, track } from './children.mjs';

const CLIENT = fileURLToPath(new URL('./idle-client.mjs', import.meta.url));
const RAISE_FD_LIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';
const READY_TIMEOUT_MS = 120_000;

export async function openIdleConnections({ port, count }) {
  const child = track(
    spawn('/bin/sh', ['-c', RAISE_FD_LIMIT, 'sh', process.execPath, CLIENT, '--port', String(port), '--count', String(count)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text) => (stderr += text));
  const waiting = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    waiting.shift()?.resolve(message);
  });
  child.once('exit', (code) => {
    for (const waiter of waiting.splice(0)) waiter.reject(new Error(`the idle client exited (code ${code}):\n${stderr}`));
  });
  const nextMessage = (timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the idle client did not answer in time')), timeoutMs);
      waiting.push({
        resolve: (message) => (clearTimeout(timer), resolve(message)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
    });
  const ready = await nextMessage(READY_TIMEOUT_MS);
  return {
    ready,
    async countOpen() {
      child.stdin.write('count\n');
      return (await nextMessage(10_000)).open;
    },
    async close() {
      if (child.exitCode === null) child.stdin.write('exit\n');
      await stopChild(child, 5000);
    },
  };
}
