/**
 * The `tsgi` command as a child process, for tests that run it as a user does. Needs `dist/`
 * (npm test builds it first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const cli = path.join(root, 'dist', 'cli', 'main.js');

export interface Started {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exited: Promise<number | null>;
}

export interface Running extends Started {
  port: number;
}

const children: ChildProcess[] = [];

/** Kills every child still running (call from afterEach). */
export function killChildren(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
}

/** Runs `node [nodeArgs] dist/cli/main.js args`, collecting its output. */
export function run(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Started {
  const child = spawn(process.execPath, [...nodeArgs, cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => stdout.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

/** Starts the CLI on an OS-chosen port and waits for its "listening on" line. */
export async function start(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<Running> {
  const started = run(['--bind', '127.0.0.1:0', ...args], env, nodeArgs);
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr: ${started.stderr.join('')}`)), 10_000);
    started.child.stderr!.on('data', () => {
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(started.stderr.join(''));
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    started.exited.then((code) => reject(new Error(`exited with ${code}: ${started.stderr.join('')}`)));
  });
  return { ...started, port };
}
