#!/usr/bin/env node
/**
 * `tsgi [options] MODULE[:EXPORT]`: load an app and serve it. With one worker and no feature
 * that needs a supervisor, in this process (SIGINT/SIGTERM: graceful shutdown); otherwise this
 * process becomes the supervisor and the workers load the app. Exit codes: 0 after a clean
 * shutdown, 1 when the server cannot start, 2 for usage errors and apps that cannot be loaded,
 * 3 when workers cannot boot.
 */
import { readFileSync } from 'node:fs';
import { DRAIN_LINGER_MS, serve, type Server } from '../server/serve.js';
import type { ServableApp } from '../server/adopt-app.js';
import { callHook, type Hooks } from '../settings/hooks.js';
import { ConfigError, resolveSettings, type Entry, type Resolved } from '../settings/resolve.js';
import { configFileFrom, environmentEntries, loadConfigFile } from '../settings/sources.js';
import { serverSettingsOf } from '../settings/table.js';
import { removePidFile, writePidFile } from '../supervisor/pid-file.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { parseArgs, UsageError } from './args.js';
import { installProcessGuards } from './guards.js';
import { helpText, printConfigText } from './help.js';
import { AppLoadError, loadApp } from './load-app.js';

function version(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

function fail(message: string, code: number): never {
  process.stderr.write(`tsgi: ${message}\n`);
  process.exit(code);
}

/** Settings, weakest first: the config file, the environment, the command line. `fresh` rereads the file (a reload). */
async function resolveAll(configFile: string | null, cli: Entry[], fresh: boolean): Promise<{ resolved: Resolved; hooks: Hooks }> {
  const file = configFileFrom(configFile, process.env);
  const config = file === null ? { entries: [], hooks: {} } : await loadConfigFile(file, { fresh });
  return { resolved: resolveSettings([config.entries, environmentEntries(process.env), cli]), hooks: config.hooks };
}

/** Workers, or any feature only a supervisor can give (a timeout is watched from outside the worker). */
function needsSupervisor(resolved: Resolved): boolean {
  const { values, origins } = resolved;
  return values.workers !== 1 || values.reload || values.maxRequests > 0 || origins.timeout !== 'default';
}

async function main(argv: readonly string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) fail(error.message, 2);
    throw error;
  }
  if (parsed.kind === 'help') {
    process.stdout.write(helpText(version()) + '\n');
    return;
  }
  if (parsed.kind === 'version') {
    process.stdout.write(`tsgi ${version()}\n`);
    return;
  }
  let resolved: Resolved;
  let hooks: Hooks;
  try {
    ({ resolved, hooks } = await resolveAll(parsed.configFile, parsed.entries, false));
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  // systemd's sockets are this process's to serve (they are now `bind`), not its children's or the app's.
  for (const variable of ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES']) delete process.env[variable];
  if (parsed.printConfig) {
    process.stdout.write(printConfigText(resolved) + '\n');
    return;
  }
  const appRef = parsed.appRef!;
  if (needsSupervisor(resolved)) {
    const { configFile, entries } = parsed;
    const supervisor = new Supervisor({
      appRef,
      settings: resolved.values,
      hooks,
      reread: async () => {
        const again = await resolveAll(configFile, entries, true);
        return { settings: again.resolved.values, hooks: again.hooks };
      },
      handleSignals: true,
    });
    try {
      await supervisor.start();
    } catch (error) {
      fail((error as Error).message, 1);
    }
    process.exit(await supervisor.finished);
  }
  await serveHere(appRef, resolved, hooks);
}

/** One process: load the app here and serve it until SIGINT or SIGTERM. */
async function serveHere(appRef: string, resolved: Resolved, hooks: Hooks): Promise<void> {
  const settings = resolved.values;
  const report = (message: string): void => void process.stderr.write(`[tsgi] [error] ${message}\n`);
  await callHook(hooks, 'onStarting', { settings, pid: process.pid }, report);
  let loaded;
  try {
    loaded = await loadApp(appRef);
  } catch (error) {
    if (error instanceof AppLoadError) fail(error.message, 2);
    fail(`cannot load ${appRef}: ${(error as Error).message}`, 2);
  }
  let server: Server;
  try {
    server = await serve(loaded.app as ServableApp, serverSettingsOf(settings));
  } catch (error) {
    fail((error as Error).message, error instanceof ConfigError || error instanceof TypeError ? 2 : 1);
  }
  installProcessGuards(server.logger);
  writePidFile(settings.pid);
  server.logger.log('info', `serving ${loaded.label}`);
  await callHook(hooks, 'whenReady', { settings, pid: process.pid, port: server.port, workers: [process.pid] }, report);
  const exit = async (code: number): Promise<never> => {
    removePidFile(settings.pid);
    await callHook(hooks, 'onExit', { settings, pid: process.pid }, report);
    process.exit(code);
  };
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.logger.log('warning', `${signal} again: exiting without waiting for in-flight requests`);
      void exit(1);
      return;
    }
    stopping = true;
    server.logger.log('info', `${signal}: finishing in-flight requests (up to ${settings.gracefulTimeout}s), then exiting`);
    server.close({ lingerMs: DRAIN_LINGER_MS }).then(
      () => exit(0),
      (error: unknown) => {
        server.logger.log('error', `shutdown failed: ${(error as Error).message}`);
        return exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // logrotate moved the log files: open them again at their paths.
  process.on('SIGUSR1', () => {
    server.reopenLogs();
    server.logger.log('info', 'SIGUSR1: log files reopened');
  });
}

main(process.argv.slice(2)).catch((error: unknown) => fail(`unexpected error: ${(error as Error).stack ?? String(error)}`, 1));
