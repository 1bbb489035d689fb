#!/usr/bin/env node
/**
 * `tsgi [options] MODULE[:EXPORT]`: load an app, serve it, shut down gracefully on
 * SIGINT/SIGTERM. Exit codes: 0 after a clean shutdown, 1 when the server cannot start,
 * 2 for usage errors and apps that cannot be loaded.
 */
import { readFileSync } from 'node:fs';
import { serve, type Server } from '../server/serve.js';
import type { EventApp } from '../spec/event-types.js';
import type { GatewayApp } from '../spec/types.js';
import { ConfigError, resolveSettings } from '../settings/resolve.js';
import { configFileFrom, environmentEntries, fileEntries } from '../settings/sources.js';
import { parseArgs, UsageError } from './args.js';
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

function installProcessGuards(server: { logger: Server['logger'] } | null): void {
  // An app's stray timer or unawaited promise must not take every other request down with it.
  process.on('uncaughtException', (error) => {
    const text = `an exception escaped the app outside any request; the server keeps running:\n${error.stack ?? String(error)}`;
    if (server !== null) server.logger.log('error', text);
    else process.stderr.write(`[tsgi] [error] ${text}\n`);
  });
  process.on('unhandledRejection', (reason) => {
    const text = `a promise rejection escaped the app outside any request; the server keeps running:\n${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`;
    if (server !== null) server.logger.log('error', text);
    else process.stderr.write(`[tsgi] [error] ${text}\n`);
  });
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
  // Settings, weakest first: the config file, the environment, the command line.
  let resolved;
  try {
    const file = configFileFrom(parsed.configFile, process.env);
    const fromFile = file === null ? [] : await fileEntries(file);
    resolved = resolveSettings([fromFile, environmentEntries(process.env), parsed.entries]);
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message, 2);
    throw error;
  }
  if (parsed.printConfig) {
    process.stdout.write(printConfigText(resolved) + '\n');
    return;
  }
  const settings = resolved.values;
  const appRef = parsed.appRef!;
  let loaded;
  try {
    loaded = await loadApp(appRef);
  } catch (error) {
    if (error instanceof AppLoadError) fail(error.message, 2);
    fail(`cannot load ${appRef}: ${(error as Error).message}`, 2);
  }
  let server: Server;
  try {
    server = await serve(loaded.app as unknown as GatewayApp | EventApp, settings);
  } catch (error) {
    fail((error as Error).message, error instanceof ConfigError || error instanceof TypeError ? 2 : 1);
  }
  installProcessGuards(server);
  server.logger.log('info', `serving ${loaded.label}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      server.logger.log('warning', `${signal} again: exiting without waiting for in-flight requests`);
      process.exit(1);
    }
    stopping = true;
    server.logger.log('info', `${signal}: finishing in-flight requests (up to ${settings.gracefulTimeout}s), then exiting`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        server.logger.log('error', `shutdown failed: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => fail(`unexpected error: ${(error as Error).stack ?? String(error)}`, 1));
