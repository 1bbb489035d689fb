/**
 * `fromNodeHandler(listener)`: a Node request listener — `(req, res)`, what Express, Koa and
 * connect apps are — as an event app, so the server, `mount` and every middleware take it like
 * any other. `req` and `res` are real `http.IncomingMessage` and `http.ServerResponse` objects
 * (src/bridges/from-node/), so the frameworks and their middleware find what they expect.
 */
import type { EventApp } from '../spec/event-types.js';
import { NodeExchange, type NodeListener } from './from-node/exchange.js';
import { httpOnlyEventApp } from './http-only.js';

export type { NodeListener } from './from-node/exchange.js';

/** A Koa application (or anything with Koa's `callback()` that returns a listener). */
export interface NodeListenerFactory {
  callback(): NodeListener;
}

export type NodeHandler = NodeListener | NodeListenerFactory;

/**
 * What `--interface auto` serves as a Node listener without being told: an Express or connect
 * app (a function with `handle`, `use` and `listen`) and a Koa app (`callback`, `use`, `listen`).
 * A bare `(req, res)` function looks like a gateway app, so it needs `--interface node`.
 */
export function isNodeHandler(value: unknown): value is NodeHandler {
  if (value === null || (typeof value !== 'function' && typeof value !== 'object')) return false;
  const candidate = value as { handle?: unknown; use?: unknown; listen?: unknown; callback?: unknown };
  if (typeof candidate.use !== 'function' || typeof candidate.listen !== 'function') return false;
  if (typeof value === 'function') return typeof candidate.handle === 'function';
  return typeof candidate.callback === 'function';
}

export function fromNodeHandler(handler: NodeHandler): EventApp {
  const listener = listenerOf(handler);
  return httpOnlyEventApp((scope, receive, send) => new NodeExchange(listener, scope, receive, send).run());
}

function listenerOf(handler: NodeHandler): NodeListener {
  if (typeof handler === 'function') return handler;
  if (handler !== null && typeof handler === 'object' && typeof handler.callback === 'function') return handler.callback();
  throw new TypeError(
    'fromNodeHandler() needs a Node request listener (req, res) => void, such as an Express or connect app, ' +
      `or a Koa app (an object with callback()); got ${handler === null ? 'null' : typeof handler}`,
  );
}
