/**
 * The README's settings table, rendered from the table: `npm run docs:settings` rewrites the part
 * of README.md between its markers, and a test fails when the README and the table disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defaultText, envOf, flagOf, SECTIONS, SETTING_NAMES, SETTINGS, type Setting } from './table.js';

export const START_MARKER = '<!-- settings:start (generated from src/settings/table.ts by npm run docs:settings) -->';
export const END_MARKER = '<!-- settings:end -->';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function row(name: string, setting: Setting): string {
  const flags = setting.kind === 'flag' ? `\`${flagOf(name)}\`, \`--no-${flagOf(name).slice(2)}\`` : `\`${flagOf(name)}\``;
  const short = setting.short === undefined ? '' : `\`${setting.short}\`, `;
  let values = '';
  if (setting.kind === 'integer') {
    const word = setting.word === undefined ? '' : `, \`${setting.word.text}\` (${setting.word.means})`;
    values = `${setting.off === undefined ? '' : `${setting.off.value} (${setting.off.means}), `}${setting.min}–${setting.max} ${setting.unit.toLowerCase()}${word}`;
  } else if (setting.kind === 'choice') {
    values = setting.choices.map((choice) => `\`${choice}\``).join(', ');
  } else if (setting.kind === 'flag') {
    values = 'true, false';
  } else if (setting.kind === 'list') {
    values = `${setting.metavar}, repeatable (comma-separated in the environment)`;
  } else {
    values = setting.metavar;
  }
  const fallback = `\`${defaultText(setting.default)}\``;
  const env = [envOf(name), ...(setting.envAliases ?? [])].map((variable) => `\`${variable}\``).join(', ');
  return `| \`${name}\` | ${short}${flags} | ${env} | ${cell(fallback)} | ${cell(values)} | ${cell(setting.help)} |`;
}

/** Markdown: one table per section, a row per setting. */
export function renderSettingsTable(): string {
  const out: string[] = [];
  for (const section of SECTIONS) {
    out.push(`**${section}**`, '', '| setting | flag | environment | default | values | meaning |', '|---|---|---|---|---|---|');
    for (const name of SETTING_NAMES) if (SETTINGS[name].section === section) out.push(row(name, SETTINGS[name]));
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** README.md with its settings table replaced by the current one. */
export function withSettingsTable(readme: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start === -1 || end < start) throw new Error(`README.md has no ${START_MARKER} … ${END_MARKER} section`);
  return `${readme.slice(0, start + START_MARKER.length)}\n${renderSettingsTable()}\n${readme.slice(end)}`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('../../README.md', import.meta.url);
  writeFileSync(file, withSettingsTable(readFileSync(file, 'utf8')));
  process.stdout.write('README.md: settings table rewritten\n');
}
