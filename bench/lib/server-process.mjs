// Starts one server as a child process on a free 127.0.0.1 port, waits until it accepts
// connections, and stops it again. Its stderr is kept (the last lines) to explain failures.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { stopChild, track } from './children.mjs';
import { canConnect, freePort } from './free-port.mjs';

const START_TIMEOUT_MS = 15_000;
const STDERR_LINES_KEPT = 30;

/**
 * The server runs under `sh -c 'ulimit -n <hard limit>; exec node …'`: the exec keeps the pid
 * (so /proc/<pid> is the server itself) and the raised descriptor limit lets idle-10k open its
 * ten thousand connections where the soft limit is lower than the hard one.
 */
const RAISE_FD_LIMIT = 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"';

export async function startServer(definition) {
  let lastError;
  // A port chosen free can be taken by someone else before the server binds it: retry.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      return await startOn(definition, port);
    } catch (error) {
      lastError = error;
      if (!error.portMayBeTaken) break;
    }
  }
  throw lastError;
}

async function startOn(definition, port) {
  const child = track(
    // Servers are node scripts unless they name their own program (nginx).
    spawn('/bin/sh', ['-c', RAISE_FD_LIMIT, 'sh', definition.command ?? process.execPath, ...definition.argv(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    }),
  );
  const stderrLines = [];
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop();
    stderrLines.push(...lines);
    if (stderrLines.length > STDERR_LINES_KEPT) stderrLines.splice(0, stderrLines.length - STDERR_LINES_KEPT);
  });
  const server = {
    name: definition.name,
    pid: child.pid,
    port,
    child,
    get exited() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    stderrTail: () => [...stderrLines, partial].filter(Boolean).join('\n'),
    stop: () => stopChild(child),
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await canConnect(port))) {
    if (server.exited) {
      const error = new Error(`${definition.name} exited during start-up (code ${child.exitCode}):\n${server.stderrTail()}`);
      error.portMayBeTaken = /in use|EADDRINUSE|cannot listen/i.test(server.stderrTail());
      throw error;
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${definition.name} did not accept connections on 127.0.0.1:${port} within ${START_TIMEOUT_MS / 1000}s:\n${server.stderrTail()}`);
    }
    await sleep(15);
  }
  return server;
}
