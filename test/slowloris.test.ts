/**
 * 1,000 slowloris connections (slowhttptest, from Debian) against every backend: each sends a
 * head line by line, a second apart, and never finishes it. The server must drop every one of
 * them (llhttp and node after --timeout-head, here 2 s; uws after its own fixed ~10 s) while a
 * well-behaved client keeps getting answers. slowhttptest itself judges the first: it stops early
 * with "No open connections left" only when the server has closed them all.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayApp } from '../src/index.js';
import { describeBackends, startServer, traitsOf, type TestServer } from './helpers.js';

const SLOWHTTPTEST = spawnSync('slowhttptest', ['-h']).error === undefined ? 'slowhttptest' : null;
const CONNECTIONS = 1000;

const hello: GatewayApp = (_environ, startResponse) => {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['hello'];
};

interface Attack {
  /** slowhttptest's whole output (its final status says why it stopped). */
  output: string;
  exitCode: number | null;
}

/** Runs slowhttptest's slow-headers attack for at most `seconds`. */
function slowloris(port: number, seconds: number): Promise<Attack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-slowloris-'));
  const child = spawn(
    SLOWHTTPTEST!,
    ['-H', '-c', String(CONNECTIONS), '-r', '500', '-i', '1', '-x', '10', '-p', '5', '-l', String(seconds), '-u', `http://127.0.0.1:${port}/`, '-g', '-o', path.join(dir, 'report')],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ output, exitCode: code })));
}

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

if (SLOWHTTPTEST === null) {
  describe('slowloris', () => it.skip('skipped: slowhttptest is not installed (apt-get install slowhttptest; .ci/run does)', () => {}));
} else {
  describeBackends('1,000 slowloris connections against %s', (backend) => {
    it('every trickling head is dropped, and a normal client is answered throughout', { timeout: 90_000 }, async () => {
      const timeouts = traitsOf(backend).timeouts;
      server = await startServer(hello, backend, timeouts ? { timeoutHead: 2, logLevel: 'info' } : {});
      // Long enough that only a server that drops the connections ends the attack early.
      const attack = slowloris(server.port, timeouts ? 30 : 60);
      let finished = false;
      void attack.then(() => (finished = true));
      let answered = 0;
      const failures: string[] = [];
      while (!finished) {
        try {
          const response = await fetch(`${server.url}/`, { headers: { Connection: 'close' }, signal: AbortSignal.timeout(10_000) });
          if ((await response.text()) === 'hello' && response.status === 200) answered++;
          else failures.push(`status ${response.status}`);
        } catch (error) {
          failures.push((error as Error).message);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { output } = await attack;
      expect(output).toContain('No open connections left');
      expect(failures).toEqual([]);
      expect(answered).toBeGreaterThan(0);
      if (timeouts) {
        // Each one was told why: 408 after the head timeout.
        const timedOut = server.errors.join('').match(/the request head took longer than 2 s; answered 408/g) ?? [];
        expect(timedOut.length).toBeGreaterThanOrEqual(CONNECTIONS);
      }
    });
  });
}
