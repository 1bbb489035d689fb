/**
 * The layers settings come from, as entries for `resolveSettings`: `serve()`'s options, the
 * environment (`TSGI_<NAME>`, and aliases such as `PORT`), and a config file (an ES module whose
 * default export, or whose named exports, are settings). The command line's layer is read by
 * cli/args.ts. Unknown names are errors that name the closest valid one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOOK_NAMES, type Hooks } from './hooks.js';
import { ConfigError, suggestion, type Entry } from './resolve.js';
import { envOf, SETTING_NAMES, SETTINGS } from './table.js';

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

/** Every setting's environment variable names, strongest last (aliases first). */
function environmentNames(): Array<[variable: string, name: string]> {
  const names: Array<[string, string]> = [];
  for (const name of SETTING_NAMES) {
    for (const alias of SETTINGS[name].envAliases ?? []) names.push([alias, name]);
    names.push([envOf(name), name]);
  }
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
  const activated = systemdSockets(env);
  if (activated !== null) entries.push(activated);
  for (const [variable, name] of known) {
    const value = env[variable];
    if (value !== undefined && value !== '') entries.push({ name, value, text: true, spelled: variable, foreign: !variable.startsWith('TSGI_') });
  }
  return entries;
}

/** The first socket systemd passes: file descriptor 3 (sd_listen_fds(3)). */
const SD_LISTEN_FDS_START = 3;

/**
 * systemd's socket activation: `LISTEN_FDS=N` (and `LISTEN_PID`, this process) hands over the
 * listening sockets on descriptors 3 … 3+N-1, which become `bind` (weaker than TSGI_BIND).
 */
function systemdSockets(env: NodeJS.ProcessEnv): Entry | null {
  const count = env.LISTEN_FDS;
  if (count === undefined || count === '') return null;
  // Variables inherited from a parent that was itself activated are not for this process.
  if (env.LISTEN_PID !== undefined && env.LISTEN_PID !== String(process.pid)) return null;
  if (!/^[1-9]\d{0,3}$/.test(count)) {
    throw new ConfigError(`LISTEN_FDS must be the number of sockets systemd passes (1 or more); got ${JSON.stringify(count)}`);
  }
  const fds = Array.from({ length: Number(count) }, (_, i) => `fd://${SD_LISTEN_FDS_START + i}`);
  return { name: 'bind', value: fds, text: false, spelled: 'LISTEN_FDS' };
}

/** The config file named by `--config` or `TSGI_CONFIG`, if any. */
export function configFileFrom(cliValue: string | null, env: NodeJS.ProcessEnv): string | null {
  if (cliValue !== null) return cliValue;
  const fromEnv = env[CONFIG_ENV];
  return fromEnv === undefined || fromEnv === '' ? null : fromEnv;
}

export interface ConfigFile {
  /** The settings it exports. */
  readonly entries: Entry[];
  /** The hooks it exports (functions named as in settings/hooks.ts). */
  readonly hooks: Hooks;
}

/**
 * A config file's settings and hooks: its default export when that is an object, else its named
 * exports. `fresh` loads the file again even when this process imported it before (a reload).
 */
export async function loadConfigFile(file: string, options: { cwd?: string; fresh?: boolean } = {}): Promise<ConfigFile> {
  const absolute = path.resolve(options.cwd ?? process.cwd(), file);
  if (!existsSync(absolute)) throw new ConfigError(`the config file ${file} does not exist (looked at ${absolute})`);
  let module: Record<string, unknown>;
  try {
    const url = pathToFileURL(absolute);
    // ES modules are cached by URL: a query string makes a reload read the file again.
    if (options.fresh === true) url.search = `reload=${Date.now()}-${++reloads}`;
    module = (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`the config file ${file} could not be loaded: ${(error as Error).message.split('\n')[0]}`);
  }
  const defaultExport = module.default;
  const exported = defaultExport !== null && typeof defaultExport === 'object' ? (defaultExport as Record<string, unknown>) : module;
  const label = path.basename(file);
  const entries: Entry[] = [];
  const hooks: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(exported)) {
    if (name === 'default' && exported === module) continue;
    if ((HOOK_NAMES as readonly string[]).includes(name)) {
      if (typeof value !== 'function') throw new ConfigError(`${name} in ${label} is a hook and must be a function; got ${typeof value}`);
      hooks[name] = value;
      continue;
    }
    entries.push({ name, value, text: false, spelled: `${name} in ${label}`, hookNames: HOOK_NAMES });
  }
  return { entries, hooks: hooks as Hooks };
}

let reloads = 0;
