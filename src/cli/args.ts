/** Parses argv against the settings table into CliSettings plus the app reference. */
import { SETTINGS, type CliSettings, type Setting } from './settings.js';

export class UsageError extends Error {}

export type ParsedArgs =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'run'; settings: CliSettings; appRef: string; bindGiven: boolean };

function findSetting(arg: string): Setting | undefined {
  return SETTINGS.find((setting) => setting.flag === arg || setting.short === arg);
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: Record<string, string | number | boolean> = {};
  for (const setting of SETTINGS) values[setting.key] = setting.default;
  let appRef: string | null = null;
  let bindGiven = false;
  let positionalOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--' && !positionalOnly) {
      positionalOnly = true;
      continue;
    }
    if (positionalOnly) {
      if (appRef !== null) throw new UsageError(`only one app may be given; got ${appRef} and ${arg}`);
      appRef = arg;
      continue;
    }
    if (arg === '--help' || arg === '-h') return { kind: 'help' };
    if (arg === '--version' || arg === '-V') return { kind: 'version' };
    if (!arg.startsWith('-') || arg === '-') {
      if (appRef !== null) throw new UsageError(`only one app may be given; got ${appRef} and ${arg}`);
      appRef = arg;
      continue;
    }
    const equals = arg.indexOf('=');
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const setting = findSetting(name);
    if (setting === undefined) throw new UsageError(`unknown option ${name} (see tsgi --help)`);
    if (setting.kind === 'flag') {
      if (equals !== -1) throw new UsageError(`${setting.flag} takes no value`);
      values[setting.key] = true;
      continue;
    }
    let raw: string | undefined = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (raw === undefined || (equals === -1 && raw.startsWith('--'))) {
      throw new UsageError(`${setting.flag} needs a value${setting.metavar ? ` (${setting.metavar})` : ''}`);
    }
    values[setting.key] = convert(setting, raw);
    if (setting.key === 'bind') bindGiven = true;
  }
  if (appRef === null) throw new UsageError('no app given: tsgi [options] MODULE[:EXPORT], e.g. tsgi app.mjs:app');
  return { kind: 'run', settings: values as unknown as CliSettings, appRef, bindGiven };
}

function convert(setting: Setting, raw: string): string | number {
  if (setting.kind === 'integer') {
    if (!/^\d+$/.test(raw)) throw new UsageError(`${setting.flag} takes a whole number (${setting.metavar}); got ${JSON.stringify(raw)}`);
    return Number(raw);
  }
  if (setting.kind === 'choice' && !setting.choices!.includes(raw)) {
    throw new UsageError(`${setting.flag} must be one of ${setting.choices!.join(', ')}; got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** `HOST:PORT`, `[IPV6]:PORT`, `:PORT`, `HOST` or `PORT`; `port` is null when the bind names none. */
export function parseBind(bind: string): { host: string; port: number | null } {
  let host = bind;
  let port: string | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(bind);
  if (bracketed !== null) {
    host = bracketed[1]!;
    port = bracketed[2] ?? null;
  } else if (bind.startsWith('[')) {
    throw new UsageError(`--bind: an IPv6 address goes in brackets, like [::1]:8000; got ${JSON.stringify(bind)}`);
  } else if (/^\d+$/.test(bind)) {
    host = '127.0.0.1';
    port = bind;
  } else {
    const colon = bind.lastIndexOf(':');
    if (colon !== -1 && bind.indexOf(':') === colon) {
      host = bind.slice(0, colon) || '127.0.0.1';
      port = bind.slice(colon + 1);
    }
  }
  if (port === null) return { host, port: null };
  if (!/^\d+$/.test(port)) throw new UsageError(`--bind port must be a number; got ${JSON.stringify(bind)}`);
  if (Number(port) > 65535) throw new UsageError(`--bind port must be at most 65535; got ${port}`);
  return { host, port: Number(port) };
}

export function helpText(version: string): string {
  const lines = [
    `tsgi ${version} — serve a gateway app (environ, startResponse) over HTTP/1.1`,
    '',
    'Usage: tsgi [options] MODULE[:EXPORT]',
    '',
    '  MODULE   a .js, .mjs or .cjs file (.ts where Node can strip types: Node >= 22.6)',
    '  EXPORT   the app\'s export name; default: "app", then the default export',
    '',
    'Options:',
  ];
  for (const setting of SETTINGS) {
    const names = setting.short ? `${setting.short}, ${setting.flag}` : `    ${setting.flag}`;
    const value = setting.kind === 'choice' ? ` ${setting.choices!.join('|')}` : setting.metavar ? ` ${setting.metavar}` : '';
    const defaultText = setting.kind === 'flag' ? '' : ` (default: ${String(setting.default)})`;
    lines.push(`  ${names}${value}`, `        ${setting.help}${defaultText}`);
  }
  lines.push('  -h, --help      Show this help.', '  -V, --version   Show the version.', '');
  lines.push('Example: tsgi --bind 0.0.0.0:8000 --access-log examples/hello.mjs:app');
  return lines.join('\n');
}
