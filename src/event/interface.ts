/**
 * Which interface an app speaks. Arity cannot tell: an event app `(scope, receive, send)` and an
 * Express-style `(req, res, next)` handler both take three arguments, and gateway apps take two
 * (or more, with defaults). So an event app declares itself, with `defineEventApp(app)` or by
 * setting `app.tsgiInterface = 'event'` (no import needed), and `--interface event` forces it.
 */
import type { EventApp } from '../spec/event-types.js';

export const INTERFACES = ['auto', 'gateway', 'event', 'fetch', 'node'] as const;
export type InterfaceChoice = (typeof INTERFACES)[number];
/** What the server runs: fetch handlers and Node listeners are served as event apps (src/bridges/). */
export type AppInterface = 'gateway' | 'event';

/** Marks `app` as an event app (scope, receive, send) and returns it. */
export function defineEventApp<T extends EventApp>(app: T): T {
  if (typeof app !== 'function') {
    throw new TypeError(`defineEventApp() needs an async function (scope, receive, send); got ${typeof app}`);
  }
  Object.defineProperty(app, 'tsgiInterface', { value: 'event', enumerable: true, configurable: true, writable: true });
  return app;
}

/** The interface to serve `app` with, given the configured choice. */
export function resolveInterface(app: unknown, choice: Exclude<InterfaceChoice, 'fetch' | 'node'>): AppInterface {
  const declared = (app as { tsgiInterface?: unknown }).tsgiInterface;
  if (declared !== undefined && declared !== 'event' && declared !== 'gateway') {
    throw new TypeError(`app.tsgiInterface must be 'event' or 'gateway'; got ${JSON.stringify(declared)}`);
  }
  if (choice !== 'auto') return choice;
  return declared === 'event' ? 'event' : 'gateway';
}
