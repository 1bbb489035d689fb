/**
 * From the sources a setting can come from to one frozen set of values, validated once by the
 * table's rules. Sources are layers, weakest first: the defaults, a config file, the
 * environment, the command line (or, for `serve()`, the options object). Every value remembers
 * where it came from (`--print-config`), and every error names the spelling the user wrote
 * (`--port`, `TSGI_PORT`, `port in tsgi.config.mjs`) and, for an unknown name, the closest
 * valid one.
 */
import { SETTING_NAMES, SETTINGS, type Setting, type SettingName, type Settings } from './table.js';

export class ConfigError extends Error {}

/** One value as a source gave it. */
export interface Entry {
  /** A setting's name. */
  readonly name: string;
  /** A string to parse (command line, environment) or a value to check (file, code). */
  readonly value: unknown;
  readonly text: boolean;
  /** How the user wrote it, for messages and `--print-config`: `--port`, `TSGI_PORT`, `port in tsgi.config.mjs`. */
  readonly spelled: string;
  /**
   * A variable tsgi does not own (`PORT`): platforms set it for their own reasons, so a bad value
   * is an error only when nothing stronger sets the same setting.
   */
  readonly foreign?: boolean;
  /** Other names valid in this source (a config file's hooks), offered when the name is unknown. */
  readonly hookNames?: readonly string[];
}

export interface Resolved {
  readonly values: Settings;
  /** Where each value came from: `default`, or an entry's spelling. */
  readonly origins: Readonly<Record<SettingName, string>>;
}

/** Resolves layers of entries, weakest first. */
export function resolveSettings(layers: readonly (readonly Entry[])[]): Resolved {
  const values: Record<string, unknown> = {};
  const origins: Record<string, string> = {};
  for (const name of SETTING_NAMES) {
    values[name] = SETTINGS[name].default;
    origins[name] = 'default';
  }
  // A foreign variable's error, waiting to see whether a stronger source overrides it.
  const pending = new Map<string, ConfigError>();
  // A list setting's values add up within one layer; a stronger layer replaces the list.
  const listLayer = new Map<string, number>();
  for (const [layerIndex, layer] of layers.entries()) {
    for (const entry of layer) {
      const setting = (SETTINGS as Record<string, Setting>)[entry.name];
      if (setting === undefined) {
        const candidates = [...SETTING_NAMES, ...(entry.hookNames ?? [])];
        throw new ConfigError(`unknown setting ${entry.spelled}${suggestion(entry.name, candidates)}`);
      }
      try {
        let value = entry.text ? parse(setting, entry.value as string, entry.spelled) : check(setting, entry.value, entry.spelled);
        if (setting.kind === 'list') {
          if (listLayer.get(entry.name) === layerIndex) value = [...(values[entry.name] as string[]), ...(value as string[])];
          listLayer.set(entry.name, layerIndex);
        }
        values[entry.name] = value;
        origins[entry.name] = entry.spelled;
        pending.delete(entry.name);
      } catch (error) {
        if (!(entry.foreign === true && error instanceof ConfigError)) throw error;
        pending.set(entry.name, error);
      }
    }
  }
  for (const [name, error] of pending) {
    if ((SETTINGS as Record<string, Setting>)[name]!.unusedWhen?.(values) !== true) throw error;
  }
  return { values: Object.freeze(values) as unknown as Settings, origins: Object.freeze(origins) as Record<SettingName, string> };
}

/** A value given as text: a whole number, a choice, a yes/no, or the text itself. */
function parse(setting: Setting, raw: string, spelled: string): unknown {
  switch (setting.kind) {
    case 'integer':
      if (setting.word !== undefined && raw === setting.word.text) return setting.word.value();
      if (!/^\d+$/.test(raw)) {
        const word = setting.word === undefined ? '' : ` or ${setting.word.text}`;
        throw new ConfigError(`${spelled} takes a whole number (${setting.unit})${word}; got ${JSON.stringify(raw)}`);
      }
      return check(setting, Number(raw), spelled);
    case 'list':
      return check(
        setting,
        raw
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item !== ''),
        spelled,
      );
    case 'flag': {
      const lower = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(lower)) return false;
      throw new ConfigError(`${spelled} takes true or false (also 1/0, yes/no, on/off); got ${JSON.stringify(raw)}`);
    }
    default:
      return check(setting, raw, spelled);
  }
}

/** A value of the right type, within range: returned as it is, or a ConfigError naming the rule. */
function check(setting: Setting, value: unknown, spelled: string): unknown {
  switch (setting.kind) {
    case 'integer': {
      const off = setting.off;
      if (off !== undefined && value === off.value) return value;
      if (setting.word !== undefined && value === setting.word.text) return setting.word.value();
      if (typeof value !== 'number' || !Number.isInteger(value) || value < setting.min || value > setting.max) {
        const range = `an integer from ${setting.min} to ${setting.max}`;
        const word = setting.word === undefined ? '' : `, or ${setting.word.text} (${setting.word.means})`;
        throw new ConfigError(`${spelled} must be ${off === undefined ? range : `${off.value} (${off.means}) or ${range}`}${word}; got ${JSON.stringify(value)}`);
      }
      return value;
    }
    case 'choice':
      if (typeof value !== 'string' || !setting.choices.includes(value)) {
        throw new ConfigError(`${spelled} must be one of ${setting.choices.join(', ')}; got ${JSON.stringify(value)}`);
      }
      return value;
    case 'flag':
      if (typeof value !== 'boolean') throw new ConfigError(`${spelled} must be true or false; got ${describe(value)}`);
      return value;
    case 'text':
      if (typeof value !== 'string' || (value === '' && setting.optional !== true)) throw new ConfigError(`${spelled} must be a non-empty string; got ${describe(value)}`);
      if (value !== '') checkWith(setting.check, value, spelled);
      return value;
    case 'list': {
      const items = typeof value === 'string' && value !== '' ? [value] : value;
      if (!Array.isArray(items) || items.some((item) => typeof item !== 'string' || item === '')) {
        throw new ConfigError(`${spelled} must be a list of non-empty strings (${setting.metavar}); got ${describe(value)}`);
      }
      for (const item of items as string[]) checkWith(setting.item, item, spelled);
      return Object.freeze([...(items as string[])]);
    }
  }
}

/** A setting's own rule for one value, its message prefixed with how the user spelled the setting. */
function checkWith(rule: ((value: string) => void) | undefined, value: string, spelled: string): void {
  if (rule === undefined) return;
  try {
    rule(value);
  } catch (error) {
    throw new ConfigError(`${spelled}: ${(error as Error).message}`);
  }
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? String(value === null ? null : 'an object') : `${typeof value} ${String(value)}`;
}

/** `; did you mean X?` for the closest of `candidates` to `given`, when one is close enough. */
export function suggestion(given: string, candidates: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(given.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(given.length / 3)) ? `; did you mean ${best}?` : '';
}

/** Levenshtein distance: insertions, deletions and substitutions. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
