// Every child process the bench starts (servers, wrk, the idle-connection client) is registered
// here, so none outlives the harness: on normal exit, on Ctrl-C, on SIGTERM and on a crash.
const live = new Set();
let installed = false;

/** Registers a spawned child; it leaves the set by itself when it exits. */
export function track(child) {
  installHandlers();
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Synchronous last resort (usable from process.on('exit'), where nothing async runs). */
export function killAllNow(signal = 'SIGKILL') {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
  live.clear();
}

function installHandlers() {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAllNow('SIGKILL'));
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${live.size} child process(es) and exiting\n`);
      // SIGTERM first so servers close their sockets; the exit hook SIGKILLs stragglers.
      killAllNow('SIGTERM');
      setTimeout(() => process.exit(code), 300).unref();
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error.stack ?? error}\n`);
    killAllNow('SIGKILL');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(`bench: ${reason?.stack ?? reason}\n`);
    killAllNow('SIGKILL');
    process.exit(1);
  });
}

/** Resolves when the child has exited (immediately if it already has). */
export function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', resolve));
}

/** SIGTERM, then SIGKILL if the child is still there after `graceMs`. */
export async function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}
