/**
 * What the supervisor and its workers say to each other over the cluster IPC channel. Heartbeats
 * do not use it: they come from each worker's watchdog thread through a pipe (watchdog.ts), so
 * they keep coming while the worker's event loop is blocked and can say what it is blocked on.
 */
import type { RegistryJSON } from '../metrics/aggregate.js';
import type { Settings } from '../settings/table.js';

/** The worker's stdio slot for its heartbeat pipe (0-2 are stdio, 3 the IPC channel). */
export const HEARTBEAT_FD = 4;

/** Exit code of a worker that could not load its app or start serving. */
export const WORKER_BOOT_FAILED = 3;

export type ToWorker =
  | {
      readonly type: 'boot';
      readonly appRef: string;
      readonly settings: Settings;
      /** Where to listen, as --bind values (a TCP port 0 already replaced by the port chosen for every worker). */
      readonly listeners: readonly string[];
      /** Requests before the worker asks to be recycled; 0 = never. */
      readonly requestBudget: number;
      /** Heartbeat period in ms; 0 = no watchdog (--timeout 0). */
      readonly beatMs: number;
    }
  /** Close the listening socket; go on serving accepted connections. */
  | { readonly type: 'stop-accepting' }
  /**
   * Graceful: idle keep-alive clients get DRAIN_LINGER_MS to notice (their requests answered with
   * `Connection: close`), in-flight requests finish (up to the graceful timeout), lifespan
   * shutdown, exit 0.
   */
  | { readonly type: 'stop' }
  /** Send your metrics registry (--metrics-bind: the supervisor sums every worker's). */
  | { readonly type: 'metrics'; readonly id: number };

export type FromWorker =
  /** Listening for messages: send the boot message now (earlier ones could be lost). */
  | { readonly type: 'hello' }
  | { readonly type: 'ready'; readonly backend: string }
  | { readonly type: 'boot-failed'; readonly message: string }
  | { readonly type: 'stopped-accepting' }
  /** The request budget is spent: start my replacement, then stop me. */
  | { readonly type: 'retire'; readonly served: number }
  | { readonly type: 'metrics'; readonly id: number; readonly json: RegistryJSON };

/** One heartbeat line: `<stalled ms> <requests in flight> <latest request>`. */
export interface Heartbeat {
  /** How long the worker's event loop has not run its timer. */
  readonly stalledMs: number;
  readonly inFlight: number;
  /** `GET /path` of the latest request started, or '' before the first. */
  readonly request: string;
}

export function parseHeartbeat(line: string): Heartbeat | null {
  const match = /^(\d+) (\d+) ?(.*)$/.exec(line);
  if (match === null) return null;
  return { stalledMs: Number(match[1]), inFlight: Number(match[2]), request: match[3]! };
}
