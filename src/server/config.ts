/**
 * `serve()`'s options and the frozen configuration they resolve to. The settings themselves
 * (names, types, defaults, ranges) are declared once in settings/table.ts; nothing downstream
 * re-reads argv or the environment.
 */
import { ConfigError, resolveSettings } from '../settings/resolve.js';
import { optionEntries } from '../settings/sources.js';
import type { Settings } from '../settings/table.js';

export { ConfigError };

export type BackendChoice = Settings['backend'];
export type LifespanMode = Settings['lifespan'];

/** Options that are not settings: where log text goes (tests and embedders redirect it). */
interface Sinks {
  /** Where error-log text goes (default stderr). */
  errorSink?: ((text: string) => void) | undefined;
  /** Where access-log lines go (default stdout). */
  accessSink?: ((text: string) => void) | undefined;
}

/** Every setting of settings/table.ts, by name, each optional; plus the log sinks. */
export type ServeOptions = { -readonly [K in keyof Settings]?: Settings[K] } & Sinks;

export type ServerConfig = Settings & {
  readonly errorSink: ((text: string) => void) | undefined;
  readonly accessSink: ((text: string) => void) | undefined;
};

const SINKS = ['errorSink', 'accessSink'] as const;

/** Validates `serve()`'s options against the settings table: unknown names and bad values are ConfigErrors. */
export function resolveConfig(options: ServeOptions = {}): ServerConfig {
  const { values } = resolveSettings([optionEntries(options, SINKS)]);
  return Object.freeze({ ...values, errorSink: options.errorSink, accessSink: options.accessSink });
}
