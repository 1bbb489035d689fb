/**
 * `run(options)`: the supervisor from code, with the same settings as the command line. For a
 * launcher script or a test that wants workers without the CLI; `serve()` stays one process.
 */
import { ConfigError, resolveSettings, type Resolved } from '../settings/resolve.js';
import type { Hooks, ReadyInfo } from '../settings/hooks.js';
import { optionEntries } from '../settings/sources.js';
import type { Settings } from '../settings/table.js';
import { Supervisor } from './supervisor.js';

export type RunOptions = { -readonly [K in keyof Settings]?: Settings[K] } & {
  /** The app as the command line names it: `MODULE[:EXPORT]`, loaded by each worker. */
  app: string;
  /** The hooks a config file could export. */
  hooks?: Hooks;
  /** React to SIGTERM, SIGINT, SIGHUP, … as the command does (default false: use the handle). */
  handleSignals?: boolean;
  /** Where the supervisor's own log lines go (default stderr); workers log to stderr. */
  errorSink?: (text: string) => void;
};

export interface Supervision {
  /** The port every worker serves (the one chosen when port 0 was asked for). */
  readonly port: number;
  /** The workers serving when the supervisor became ready. */
  readonly ready: ReadyInfo;
  /** The pids of the workers alive now. */
  pids(): number[];
  /** As SIGHUP: new workers with the app loaded again, then the old ones drain. */
  reload(): void;
  /** As SIGTTIN and SIGTTOU: one worker more, one less. */
  increment(): void;
  decrement(): void;
  /** As SIGTERM: a graceful stop; resolves with the supervisor's exit code. */
  stop(): Promise<number>;
  /** Resolves with the exit code once the supervisor is done, however it ends. */
  readonly finished: Promise<number>;
}

const NOT_SETTINGS = ['app', 'hooks', 'handleSignals', 'errorSink'];

/** Starts the workers and resolves once they all serve; rejects (after cleaning up) when they cannot boot. */
export async function run(options: RunOptions): Promise<Supervision> {
  if (typeof options?.app !== 'string' || options.app === '') {
    throw new ConfigError('run() needs the app as a module reference: run({ app: "app.mjs:app", workers: 2 })');
  }
  const resolved: Resolved = resolveSettings([optionEntries(options, NOT_SETTINGS)]);
  const hooks = options.hooks ?? {};
  const supervisor = new Supervisor({
    appRef: options.app,
    settings: resolved.values,
    hooks,
    reread: async () => ({ settings: resolved.values, hooks }),
    handleSignals: options.handleSignals ?? false,
    errorSink: options.errorSink,
  });
  await supervisor.start();
  let ready: ReadyInfo;
  try {
    ready = await supervisor.ready;
  } catch (error) {
    await supervisor.finished;
    throw error;
  }
  return {
    port: ready.port,
    ready,
    pids: () => supervisor.pids(),
    reload: () => supervisor.request('reload'),
    increment: () => supervisor.request('increment'),
    decrement: () => supervisor.request('decrement'),
    stop: () => {
      supervisor.request('stop');
      return supervisor.finished;
    },
    finished: supervisor.finished,
  };
}
