/** `tsgi --help` and `--print-config`, from the settings table. */
import type { Resolved } from '../settings/resolve.js';
import { defaultText, envOf, flagOf, SECTIONS, SETTING_NAMES, SETTINGS, type Setting } from '../settings/table.js';
import { metavarOf } from './args.js';

/** `--max-body-size BYTES` or `-b, --bind HOST:PORT`. */
function usageOf(name: string, setting: Setting): string {
  const metavar = metavarOf(setting);
  const long = setting.kind === 'flag' ? `${flagOf(name)}, --no-${flagOf(name).slice(2)}` : `${flagOf(name)}${metavar === '' ? '' : ` ${metavar}`}`;
  return setting.short === undefined ? long : `${setting.short}, ${long}`;
}

/** `(default: 8000; 0-65535; env TSGI_PORT, PORT)`: what a setting's help line ends with. */
export function factsOf(name: string, setting: Setting): string {
  const facts: string[] = [];
  facts.push(`default: ${defaultText(setting.default)}`);
  if (setting.kind === 'integer') {
    const word = setting.word === undefined ? '' : `, ${setting.word.text} = ${setting.word.means}`;
    facts.push(`${setting.off === undefined ? '' : `${setting.off.value} = ${setting.off.means}, else `}${setting.min}-${setting.max}${word}`);
  }
  if (setting.kind === 'list') facts.push('repeatable');
  facts.push(`env ${[envOf(name), ...(setting.envAliases ?? [])].join(', ')}`);
  return `(${facts.join('; ')})`;
}

export function helpText(version: string): string {
  const lines = [
    `tsgi ${version}: serve a gateway app (environ, startResponse) or an event app (scope, receive, send) over HTTP/1.1`,
    '',
    'Usage: tsgi [options] MODULE[:EXPORT]',
    '',
    '  MODULE   a .js, .mjs or .cjs file (.ts where Node can strip types: Node >= 22.6)',
    '  EXPORT   the app\'s export name; default: "app", then the default export',
    '',
    'Every setting also comes from the environment (TSGI_<NAME>) and a config file (--config);',
    'the command line wins over the environment, the environment over the file.',
  ];
  for (const section of SECTIONS) {
    lines.push('', `${section}:`);
    for (const name of SETTING_NAMES) {
      const setting = SETTINGS[name];
      if (setting.section === section) lines.push(`  ${usageOf(name, setting)}`, `        ${setting.help} ${factsOf(name, setting)}`);
    }
  }
  lines.push(
    '',
    'The command:',
    '  --config FILE',
    '        An ES module exporting settings by name (its default export, or named exports). (env TSGI_CONFIG)',
    '  --print-config',
    '        Print each resolved setting and where it came from, then exit.',
    '  -h, --help      Show this help.',
    '  -V, --version   Show the version.',
    '',
    'Example: tsgi --bind 0.0.0.0:8000 --access-log examples/hello.mjs:app',
  );
  return lines.join('\n');
}

/** One line per setting: name, value, where it came from. */
export function printConfigText(resolved: Resolved): string {
  const width = Math.max(...SETTING_NAMES.map((name) => name.length));
  const values = SETTING_NAMES.map((name) => {
    const value = resolved.values[name];
    return (SETTINGS[name] as Setting).secret === true && value !== '' ? '"(set)"' : JSON.stringify(value);
  });
  const valueWidth = Math.max(...values.map((value) => value.length));
  return SETTING_NAMES.map((name, i) => `${name.padEnd(width)}  ${values[i]!.padEnd(valueWidth)}  ${resolved.origins[name]}`).join('\n');
}
