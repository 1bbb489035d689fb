/**
 * Hooks a config file may export besides settings (gunicorn's server hooks are the model). They
 * run in the process that starts the server: the supervisor when there are workers, else the one
 * server process. A hook that throws is logged and the server goes on.
 */
import type { Settings } from './table.js';

export interface ServerInfo {
  /** The resolved settings. */
  readonly settings: Settings;
  /** The supervisor's pid, or the server's in a single process. */
  readonly pid: number;
}

export interface ReadyInfo extends ServerInfo {
  /** The port every worker serves. */
  readonly port: number;
  /** The pids serving now (the one process itself without workers). */
  readonly workers: readonly number[];
}

export interface WorkerExitInfo extends ServerInfo {
  readonly worker: number;
  readonly code: number | null;
  readonly signal: string | null;
  /** Why it exited, as the supervisor's log says it: `stopped`, `crashed`, `timed out`, `failed to boot`, … */
  readonly reason: string;
}

export interface Hooks {
  /** Before the first worker (or the server) starts. */
  onStarting?(info: ServerInfo): void | Promise<void>;
  /** Once every first worker listens (or the server does). */
  whenReady?(info: ReadyInfo): void | Promise<void>;
  /** A reload (SIGHUP, --reload) put new workers in place of the old. */
  onReload?(info: ReadyInfo): void | Promise<void>;
  /** A worker process exited, for whatever reason (supervisor only). */
  workerExit?(info: WorkerExitInfo): void | Promise<void>;
  /** Just before the supervisor (or the server) exits. */
  onExit?(info: ServerInfo): void | Promise<void>;
}

export type HookName = keyof Hooks;
export const HOOK_NAMES: readonly HookName[] = ['onStarting', 'whenReady', 'onReload', 'workerExit', 'onExit'];

/** Runs a hook if it is set; a throw or rejection is reported through `report`, never raised. */
export async function callHook<K extends HookName>(
  hooks: Hooks,
  name: K,
  info: Parameters<NonNullable<Hooks[K]>>[0],
  report: (message: string) => void,
): Promise<void> {
  const hook = hooks[name] as ((info: unknown) => unknown) | undefined;
  if (hook === undefined) return;
  try {
    await hook(info);
  } catch (error) {
    report(`the config file's ${name} hook failed: ${(error as Error).stack ?? String(error)}`);
  }
}
