/**
 * Settings as data (src/settings/): one table behind the command line, the environment, a config
 * file and serve()'s options. Through the real `tsgi` command: the documented precedence, what
 * --print-config shows, unknown names in each source answered with the closest valid one, bad
 * values naming where they came from; and the README's table matching the table.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../src/index.js';
import { renderSettingsTable, withSettingsTable } from '../src/settings/readme.js';
import { SETTING_NAMES } from '../src/settings/table.js';
import { killChildren, root, run, start } from './cli-process.js';

afterEach(killChildren);

function configFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'tsgi-settings-'));
  const file = path.join(dir, 'tsgi.config.mjs');
  writeFileSync(file, text);
  return file;
}

/** `tsgi --print-config` as a map from setting name to [value, origin]. */
async function printConfig(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Map<string, [string, string]>> {
  const result = run(['--print-config', ...args], env);
  expect(await result.exited, result.stderr.join('')).toBe(0);
  const rows = new Map<string, [string, string]>();
  for (const line of result.stdout.join('').trim().split('\n')) {
    const [name, value, ...origin] = line.trim().split(/\s{2,}/);
    rows.set(name!, [value!, origin.join(' ')]);
  }
  return rows;
}

describe('settings from every source', () => {
  it('command line > environment > config file > defaults, and --print-config says where each came from', async () => {
    const file = configFile('export default { port: 1111, maxBodySize: 5, backend: "uws", accessLog: true };\n');
    const rows = await printConfig(['--config', file, '--port', '3333', '--no-access-log'], { TSGI_PORT: '2222', TSGI_BACKEND: 'node', TSGI_LOG_LEVEL: 'debug' });
    expect(rows.get('port')).toEqual(['3333', '--port']);
    expect(rows.get('backend')).toEqual(['"node"', 'TSGI_BACKEND']);
    expect(rows.get('maxBodySize')).toEqual(['5', 'maxBodySize in tsgi.config.mjs']);
    expect(rows.get('accessLog')).toEqual(['false', '--no-access-log']);
    expect(rows.get('logLevel')).toEqual(['"debug"', 'TSGI_LOG_LEVEL']);
    expect(rows.get('timeoutKeepAlive')).toEqual(['5', 'default']);
    // One line per setting.
    expect([...rows.keys()]).toEqual(SETTING_NAMES);
  });

  it('--bind adds up when repeated, a stronger source replaces the list; PORT is read, weaker than TSGI_PORT', async () => {
    let rows = await printConfig(['--bind', '[::1]:4444', '-b', 'unix:/tmp/x.sock'], { TSGI_BIND: '0.0.0.0:1234' });
    expect(rows.get('bind')).toEqual(['["[::1]:4444","unix:/tmp/x.sock"]', '-b']);
    rows = await printConfig([], { TSGI_BIND: '0.0.0.0:1234,fd://3' });
    expect(rows.get('bind')).toEqual(['["0.0.0.0:1234","fd://3"]', 'TSGI_BIND']);
    rows = await printConfig([], { PORT: '7777' });
    expect(rows.get('port')).toEqual(['7777', 'PORT']);
    rows = await printConfig([], { PORT: '7777', TSGI_PORT: '8888' });
    expect(rows.get('port')).toEqual(['8888', 'TSGI_PORT']);
  });

  it('--print-config says a password is set without showing it', async () => {
    const rows = await printConfig([], { TSGI_KEYFILE_PASSWORD: 'hunter2' });
    expect(rows.get('keyfilePassword')).toEqual(['"(set)"', 'TSGI_KEYFILE_PASSWORD']);
  });

  it('flags from the environment take 1/0, true/false, yes/no, on/off', async () => {
    const rows = await printConfig([], { TSGI_ACCESS_LOG: 'yes', TSGI_WS_PING: '0' });
    expect(rows.get('accessLog')).toEqual(['true', 'TSGI_ACCESS_LOG']);
    expect(rows.get('wsPing')).toEqual(['false', 'TSGI_WS_PING']);
  });

  it('a config file with named exports configures the server it starts', async () => {
    const file = configFile('export const backend = "node";\nexport const logLevel = "info";\n');
    const server = await start(['--config', file, 'examples/hello.mjs']);
    expect(server.stderr.join('')).toContain('with backend node (node:http, as configured)');
    expect(await (await fetch(`http://127.0.0.1:${server.port}/`)).text()).toBe('Hello, world!');
  });

  it.each([
    [['--max-bdy-size', '5', 'examples/hello.mjs'], {}, 'unknown option --max-bdy-size; did you mean --max-body-size?'],
    [['examples/hello.mjs'], { TSGI_MAX_BODYSIZE: '5' }, 'unknown environment variable TSGI_MAX_BODYSIZE; did you mean TSGI_MAX_BODY_SIZE?'],
    [['examples/hello.mjs'], { TSGI_PORT: 'abc' }, 'TSGI_PORT takes a whole number (PORT); got "abc"'],
    [['--timeout-head', '0', 'examples/hello.mjs'], {}, '--timeout-head must be an integer from 1 to 3600; got 0'],
    [['--ws-idle-timeout', '5', 'examples/hello.mjs'], {}, '--ws-idle-timeout must be 0 (never) or an integer from 8 to 960; got 5'],
    [['--bind', '[::1', 'examples/hello.mjs'], {}, '--bind: an IPv6 address goes in brackets'],
    [['--bind', 'fd://x', 'examples/hello.mjs'], {}, '--bind: fd:// needs a file descriptor number, like fd://3; got "fd://x"'],
    [['--uds-mode', '999', 'examples/hello.mjs'], {}, '--uds-mode: takes permission bits in octal, like 660; got "999"'],
  ])('refuses %j %j with exit 2 and one line naming it', async (args, env, message) => {
    const result = run(args, env);
    expect(await result.exited).toBe(2);
    const lines = result.stderr.join('').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
  });

  it('refuses an unknown key or a bad value in the config file, naming the file', async () => {
    let result = run(['--config', configFile('export default { maxBodySise: 5 };\n'), 'examples/hello.mjs']);
    expect(await result.exited).toBe(2);
    expect(result.stderr.join('')).toContain('unknown setting maxBodySise in tsgi.config.mjs; did you mean maxBodySize?');
    result = run(['--config', configFile('export default { port: "8000" };\n'), 'examples/hello.mjs']);
    expect(await result.exited).toBe(2);
    expect(result.stderr.join('')).toContain('port in tsgi.config.mjs must be an integer from 0 to 65535; got "8000"');
    result = run(['--config', 'no-such-config.mjs', 'examples/hello.mjs']);
    expect(await result.exited).toBe(2);
    expect(result.stderr.join('')).toContain('the config file no-such-config.mjs does not exist');
  });

  it("serve() refuses an unknown option with the closest setting's name", async () => {
    const app = () => [];
    await expect(serve(app, { port: 0, maxBodySise: 5 } as never)).rejects.toThrow('unknown setting maxBodySise; did you mean maxBodySize?');
    await expect(serve(app, { port: 0, timeoutBody: 0 })).rejects.toThrow('timeoutBody must be an integer from 1 to 3600; got 0');
  });
});

describe('the README', () => {
  it("has the settings table generated from src/settings/table.ts (npm run docs:settings rewrites it)", () => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toContain(renderSettingsTable());
    expect(withSettingsTable(readme)).toBe(readme);
  });
});
