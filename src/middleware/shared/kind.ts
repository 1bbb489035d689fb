/**
 * What every middleware needs to know about the app it wraps: which interface it speaks, and for
 * gateway apps how it wants its request body. A wrapper takes both over from the app it wraps, so
 * wrapping never changes how the server treats the app (a buffered app stays buffered even
 * though the wrapper is a plain function returning a promise).
 */
import { inputModeOf } from '../../core/gateway.js';
import { defineEventApp } from '../../event/interface.js';
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp, InputMode } from '../../spec/types.js';

/** An app of either interface. */
export type AnyApp = GatewayApp | EventApp;

/** True for an app that declared itself an event app (`defineEventApp`, `tsgiInterface = 'event'`). */
export function isEventApp(app: unknown): app is EventApp {
  return typeof app === 'function' && (app as { tsgiInterface?: unknown }).tsgiInterface === 'event';
}

/** Throws a TypeError naming `middleware` when `app` is not a function. */
export function requireApp(app: unknown, middleware: string): asserts app is AnyApp {
  if (typeof app !== 'function') {
    throw new TypeError(`${middleware}() needs an app (a function) as its first argument; got ${app === null ? 'null' : typeof app}`);
  }
}

/** The input mode of a gateway app (docs/spec.md §3): declared, or inferred from `async`. */
export function inputModeOfApp(app: GatewayApp): InputMode {
  return inputModeOf(app);
}

/** Gives `wrapper` the input mode of `inner`, so the server feeds it the body the same way. */
export function gatewayWrapper<T extends GatewayApp>(inner: GatewayApp, wrapper: T): T {
  return withInputMode(wrapper, inputModeOf(inner));
}

/** Declares `wrapper`'s input mode (`app.tsgiInput`). */
export function withInputMode<T extends GatewayApp>(wrapper: T, mode: InputMode): T {
  Object.defineProperty(wrapper, 'tsgiInput', { value: mode, enumerable: true, configurable: true, writable: true });
  return wrapper;
}

/** Marks `wrapper` as an event app. */
export function eventWrapper<T extends EventApp>(wrapper: T): T {
  return defineEventApp(wrapper);
}

/**
 * The usual shape of a middleware: one wrapper per interface, chosen by what `app` speaks. The
 * result has the same interface as `app`, and a gateway result the same input mode.
 */
export function wrapEither<A extends AnyApp>(
  app: A,
  middleware: string,
  wrap: { gateway(inner: GatewayApp): GatewayApp; event(inner: EventApp): EventApp },
): A {
  requireApp(app, middleware);
  if (isEventApp(app)) return eventWrapper(wrap.event(app)) as A;
  return gatewayWrapper(app as GatewayApp, wrap.gateway(app as GatewayApp)) as A;
}
