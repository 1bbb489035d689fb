/**
 * `compose(app, ...wrappers)`: several middleware applied in reading order, so
 * `compose(app, [mount, { '/api': api }], cors, compress)` is `compress(cors(mount(app, { '/api':
 * api })))`: the last one listed is the outermost, the first to see a request.
 *
 * A wrapper is a function of the app (`(app) => wrapped`, such as a middleware that needs no
 * options) or a list `[middleware, ...arguments]` that calls `middleware(app, ...arguments)`.
 */
import { requireApp, type AnyApp } from '../shared/kind.js';

// Middleware take their own option types; `any` lets each list carry its own.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Middleware = (app: any, ...args: any[]) => AnyApp;
export type Wrapper = ((app: AnyApp) => AnyApp) | readonly [Middleware, ...unknown[]];

export function compose<A extends AnyApp>(app: A, ...wrappers: Wrapper[]): A {
  requireApp(app, 'compose');
  let current: AnyApp = app;
  wrappers.forEach((wrapper, index) => {
    let next: unknown;
    if (typeof wrapper === 'function') next = wrapper(current);
    else if (Array.isArray(wrapper) && typeof wrapper[0] === 'function') next = wrapper[0](current, ...wrapper.slice(1));
    else {
      throw new TypeError(
        `compose() wrapper #${index + 1} must be a function of the app or a list [middleware, ...options]; got ${describe(wrapper)}`,
      );
    }
    if (typeof next !== 'function') throw new TypeError(`compose() wrapper #${index + 1} returned ${describe(next)} instead of an app`);
    current = next as AnyApp;
  });
  return current as A;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list whose first item is not a function';
  return typeof value;
}
