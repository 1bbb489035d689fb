/**
 * The command line, read against the settings table: every setting's flag (`--max-body-size N`,
 * `--max-body-size=N`, `--access-log`, `--no-access-log`, a repeated `--bind`), and the
 * options of the command itself (`--config`, `--print-config`, `--help`, `--version`).
 */
import { suggestion, type Entry } from '../settings/resolve.js';
import { flagOf, SETTING_NAMES, SETTINGS, type Setting } from '../settings/table.js';

export class UsageError extends Error {}

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'version' }
  | {
      kind: 'run';
      /** The command line's settings, in the order given (a later one wins). */
      entries: Entry[];
      /** `--config FILE`, or null. */
      configFile: string | null;
      /** `--print-config`: show each resolved setting and where it came from, then exit. */
      printConfig: boolean;
      /** Null only with --print-config. */
      appRef: string | null;
    };

interface Flag {
  name: string;
  setting: Setting;
  /** `--no-x` for a flag setting. */
  negated: boolean;
}

/** Every flag the command line knows: each setting's, and `--no-x` for flags. */
function flagTable(): Map<string, Flag> {
  const flags = new Map<string, Flag>();
  const add = (name: string, setting: Setting): void => {
    flags.set(flagOf(name), { name, setting, negated: false });
    if (setting.kind === 'flag') flags.set(`--no-${flagOf(name).slice(2)}`, { name, setting, negated: true });
    if (setting.short !== undefined) flags.set(setting.short, { name, setting, negated: false });
  };
  for (const name of SETTING_NAMES) add(name, SETTINGS[name]);
  return flags;
}

const COMMAND_FLAGS = ['--config', '--print-config', '--help', '-h', '--version', '-V'];

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const flags = flagTable();
  const entries: Entry[] = [];
  let appRef: string | null = null;
  let configFile: string | null = null;
  let printConfig = false;
  let positionalOnly = false;
  const setApp = (arg: string): void => {
    if (appRef !== null) throw new UsageError(`only one app may be given; got ${appRef} and ${arg}`);
    appRef = arg;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (positionalOnly) {
      setApp(arg);
      continue;
    }
    if (arg === '--') {
      positionalOnly = true;
      continue;
    }
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-V') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') {
      setApp(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const inline = equals === -1 ? undefined : arg.slice(equals + 1);
    const takeValue = (metavar: string): string => {
      const value = inline ?? argv[++i];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${name} needs a value (${metavar})`);
      return value;
    };
    if (name === '--print-config') {
      if (inline !== undefined) throw new UsageError('--print-config takes no value');
      printConfig = true;
      continue;
    }
    if (name === '--config') {
      configFile = takeValue('FILE');
      continue;
    }
    const flag = flags.get(name);
    if (flag === undefined) {
      throw new UsageError(`unknown option ${name}${suggestion(name, [...flags.keys(), ...COMMAND_FLAGS])} (see tsgi --help)`);
    }
    const { setting } = flag;
    if (setting.kind === 'flag') {
      if (inline !== undefined) throw new UsageError(`${name} takes no value`);
      entries.push({ name: flag.name, value: !flag.negated, text: false, spelled: name });
      continue;
    }
    entries.push({ name: flag.name, value: takeValue(metavarOf(setting)), text: true, spelled: name });
  }
  if (appRef === null && !printConfig) throw new UsageError('no app given: tsgi [options] MODULE[:EXPORT], e.g. tsgi app.mjs:app');
  return { kind: 'run', entries, configFile, printConfig, appRef };
}

/** What a flag's value looks like in --help and in messages. */
export function metavarOf(setting: Setting): string {
  switch (setting.kind) {
    case 'integer':
      return setting.word === undefined ? setting.unit : `${setting.unit}|${setting.word.text}`;
    case 'choice':
      return setting.choices.join('|');
    case 'flag':
      return '';
    default:
      return setting.metavar;
  }
}
