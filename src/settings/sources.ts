/**
 * The layers settings come from, as entries for `resolveSettings`: `serve()`'s options, the
 * environment (`TSGI_<NAME>`, and aliases such as `PORT`), and a config file (an ES module whose
 * default export, or whose named exports, are settings). The command line's layer is read by
 * cli/args.ts. Unknown names are errors that name the closest valid one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, suggestion, type Entry } from './resolve.js';
import { envOf, SETTING_NAMES, SETTINGS, SHORTHANDS } from './table.js';

/** Environment variables with the TSGI_ prefix that are not settings: the config file, and the test suite's own. */
const CONFIG_ENV = 'TSGI_CONFIG';
const RESERVED_ENV_PREFIX = 'TSGI_TEST_';

/** `serve()`'s options (everything but `ignored`, which are not settings). */
export function optionEntries(options: object, ignored: readonly string[]): Entry[] {
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || ignored.includes(name)) continue;
    entries.push({ name, value, text: false, spelled: name });
  }
  return entries;
}

/** Every setting's and shorthand's environment variable names, strongest last (aliases first). */
function environmentNames(): Array<[variable: string, name: string]> {
  const names: Array<[string, string]> = [];
  for (const name of SETTING_NAMES) {
    for (const alias of SETTINGS[name].envAliases ?? []) names.push([alias, name]);
    names.push([envOf(name), name]);
  }
  for (const name of Object.keys(SHORTHANDS)) names.push([envOf(name), name]);
  return names;
}

/** The settings the environment gives; an unknown `TSGI_*` variable is an error. */
export function environmentEntries(env: NodeJS.ProcessEnv): Entry[] {
  const known = environmentNames();
  const knownVariables = new Set(known.map(([variable]) => variable));
  for (const variable of Object.keys(env)) {
    if (!variable.startsWith('TSGI_') || knownVariables.has(variable) || variable === CONFIG_ENV || variable.startsWith(RESERVED_ENV_PREFIX)) continue;
    throw new ConfigError(
      `unknown environment variable ${variable}${suggestion(variable, [...knownVariables, CONFIG_ENV])} (tsgi reads TSGI_<SETTING>; see tsgi --help)`,
    );
  }
  const entries: Entry[] = [];
  for (const [variable, name] of known) {
    const value = env[variable];
    if (value !== undefined && value !== '') entries.push({ name, value, text: true, spelled: variable, foreign: !variable.startsWith('TSGI_') });
  }
  return entries;
}

/** The config file named by `--config` or `TSGI_CONFIG`, if any. */
export function configFileFrom(cliValue: string | null, env: NodeJS.ProcessEnv): string | null {
  if (cliValue !== null) return cliValue;
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === '' ? null : fromEnv;
}

/** The settings a config file exports: its default export when that is an object, else its named exports. */
export async function fileEntries(file: string, cwd: string = process.cwd()): Promise<Entry[]> {
  const absolute = path.resolve(cwd, file);
  if (!existsSync(absolute)) throw new ConfigError(`the config file ${file} does not exist (looked at ${absolute})`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(absolute).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`the config file ${file} could not be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  const defaultExport = module.default;
  const settings = defaultExport !== null && typeof defaultExport === 'object' ? (defaultExport as Record<string, unknown>) : module;
  const label = path.basename(file);
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(settings)) {
    if (name === 'default' && settings === module) continue;
    entries.push({ name, value, text: false, spelled: `${name} in ${label}` });
  }
  return entries;
}
