/**
 * `serve()`'s options and the frozen configuration they resolve to. The settings themselves
 * (names, types, defaults, ranges) are declared once in settings/table.ts; nothing downstream
 * re-reads argv or the environment.
 */
import { ConfigError, resolveSettings } from '../settings/resolve.js';
import { optionEntries } from '../settings/sources.js';
import type { RequestObserver } from '../acceptors/types.js';
import { PROCESS_SETTING_NAMES, type Settings } from '../settings/table.js';

export { ConfigError };

export type BackendChoice = Settings['backend'];
export type LifespanMode = Settings['lifespan'];

/** Options that are not settings: where log text goes (tests and embedders redirect it), who watches requests. */
interface Extras {
  /** Where error-log text goes (default stderr). */
  errorSink?: ((text: string) => void) | undefined;
  /** Where access-log lines go (default stdout). */
  accessSink?: ((text: string) => void) | undefined;
  /** Told of every request's start and end (a supervised worker's watchdog and request budget). */
  observer?: RequestObserver | null | undefined;
  /** Keep metrics without serving them (a supervised worker: its supervisor serves them, summed). */
  collectMetrics?: boolean | undefined;
}

/** The server settings of settings/table.ts, by name, each optional; plus the extras. */
export type ServeOptions = { -readonly [K in keyof Settings]?: Settings[K] } & Extras;

/** Every setting (the process-level ones at their defaults: serve() refuses them) and the extras. */
export type ServerConfig = Settings & {
  readonly errorSink: ((text: string) => void) | undefined;
  readonly accessSink: ((text: string) => void) | undefined;
  readonly observer: RequestObserver | null;
  readonly collectMetrics: boolean;
};

const EXTRAS = ['errorSink', 'accessSink', 'observer', 'collectMetrics'] as const;

/** Validates `serve()`'s options against the settings table: unknown names and bad values are ConfigErrors. */
export function resolveConfig(options: ServeOptions = {}): ServerConfig {
  for (const name of PROCESS_SETTING_NAMES) {
    if (options[name] !== undefined) {
      throw new ConfigError(`${name} is a setting of the process, not of one server: serve() always runs in this process; use run() from tsgi (or the tsgi command) for ${name}`);
    }
  }
  const { values } = resolveSettings([optionEntries(options, EXTRAS)]);
  return Object.freeze({
    ...values,
    errorSink: options.errorSink,
    accessSink: options.accessSink,
    observer: options.observer ?? null,
    collectMetrics: options.collectMetrics ?? false,
  });
}
