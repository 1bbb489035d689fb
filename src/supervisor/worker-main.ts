/**
 * A worker process: started by the supervisor through the cluster module, it waits for its
 * `boot` message, loads the app, serves it on the shared address, and from then on obeys the
 * supervisor. Every log line carries the worker's pid. A worker never decides to live on alone:
 * when the supervisor goes away, the cluster module ends it.
 */
import { installProcessGuards } from '../cli/guards.js';
import { AppLoadError, loadApp } from '../cli/load-app.js';
import type { Server } from '../server/serve.js';
import { DRAIN_LINGER_MS, serve } from '../server/serve.js';
import { openLogSink, type LogSink } from '../server/log-files.js';
import { serverSettingsOf } from '../settings/table.js';
import type { ServableApp } from '../server/adopt-app.js';
import { HEARTBEAT_FD, WORKER_BOOT_FAILED, type FromWorker, type ToWorker } from './protocol.js';
import { RequestWatch } from './watchdog.js';

const pid = process.pid;
const prefix = `[tsgi:${pid}] `;

function tell(message: FromWorker): void {
  if (process.connected) process.send!(message);
}

/** stderr, or --error-logfile once the boot message names it (every process appends to it). */
let errorLog: LogSink | null = null;

/** Rewrites the logger's `[tsgi] ` prefix so every line names this worker. */
function workerSink(text: string): void {
  const line = text.startsWith('[tsgi] ') ? prefix + text.slice(7) : text;
  if (errorLog === null) process.stderr.write(line);
  else errorLog.write(line);
}

function bootFailed(message: string): never {
  process.stderr.write(`${prefix}[error] worker failed to boot: ${message}\n`);
  tell({ type: 'boot-failed', message });
  // Let the IPC message out before exiting.
  setTimeout(() => process.exit(WORKER_BOOT_FAILED), 50);
  throw new Error(message);
}

async function boot(message: Extract<ToWorker, { type: 'boot' }>): Promise<Server> {
  try {
    errorLog = openLogSink(message.settings.errorLogfile, process.stderr);
  } catch (error) {
    bootFailed((error as Error).message);
  }
  const watch = RequestWatch.create(message.requestBudget, (served) => tell({ type: 'retire', served }));
  if (message.beatMs > 0) {
    watch.startClock();
    watch.startThread(HEARTBEAT_FD, message.beatMs);
  }
  let loaded;
  try {
    loaded = await loadApp(message.appRef);
  } catch (error) {
    bootFailed(error instanceof AppLoadError ? error.message : `cannot load ${message.appRef}: ${(error as Error).stack ?? String(error)}`);
  }
  let server: Server;
  try {
    server = await serve(loaded.app as ServableApp, {
      ...serverSettingsOf(message.settings),
      bind: message.listeners,
      uds: '',
      fd: -1,
      // The supervisor serves the metrics, summed over its workers; each worker only keeps its own.
      metricsBind: '',
      collectMetrics: message.settings.metricsBind !== '',
      errorSink: workerSink,
      observer: message.requestBudget > 0 || message.beatMs > 0 ? watch : null,
    });
  } catch (error) {
    bootFailed((error as Error).message);
  }
  installProcessGuards(server.logger);
  tell({ type: 'ready', backend: server.backend });
  return server;
}

let server: Server | null = null;
let stopping = false;

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (server === null) process.exit(0);
  server.close({ lingerMs: DRAIN_LINGER_MS }).then(
    () => process.exit(0),
    (error: unknown) => {
      server!.logger.log('error', `shutdown failed: ${(error as Error).message}`);
      process.exit(1);
    },
  );
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'boot':
      boot(message).then(
        (started) => {
          server = started;
          if (stopping) {
            stopping = false;
            stop();
          }
        },
        () => undefined, // bootFailed already reported and is exiting
      );
      break;
    case 'stop-accepting':
      server?.stopAccepting();
      tell({ type: 'stopped-accepting' });
      break;
    case 'stop':
      stop();
      break;
    case 'metrics':
      void server?.metrics?.registry.getMetricsAsJSON().then((json) => tell({ type: 'metrics', id: message.id, json }));
      break;
  }
});

// Ctrl-C in a terminal signals the whole process group: the supervisor decides what happens.
process.on('SIGINT', () => undefined);
// TERM straight to a worker (a process manager, an operator): the same graceful stop.
process.on('SIGTERM', () => stop());
process.on('SIGQUIT', () => process.exit(0));
// logrotate moved the log files (the supervisor passes the signal on): open them again. Catching
// it matters anyway: Node's default for SIGUSR1 is to start the inspector.
process.on('SIGUSR1', () => {
  errorLog?.reopen();
  server?.reopenLogs();
});
tell({ type: 'hello' });
