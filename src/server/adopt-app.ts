/**
 * The apps tsgi serves through a bridge: fetch handlers (Hono, Workers-style) and Node request
 * listeners (Express, Koa, connect) become event apps here, before the interface is resolved.
 * `--interface fetch|node` says so; `auto` recognises what has an unmistakable shape.
 */
import { fromFetch, isFetchHandler, type FetchHandler } from '../bridges/from-fetch.js';
import { fromNodeHandler, isNodeHandler, type NodeHandler } from '../bridges/from-node-handler.js';
import type { InterfaceChoice } from '../event/interface.js';
import type { EventApp } from '../spec/event-types.js';
import type { GatewayApp } from '../spec/types.js';

/** Anything `serve()` takes. */
export type ServableApp = GatewayApp | EventApp | FetchHandler | NodeHandler;

export interface AdoptedApp {
  app: unknown;
  /** The bridge the app runs through, for the startup log; null when it speaks tsgi. */
  bridge: 'fetch' | 'node' | null;
}

export function adoptApp(given: unknown, choice: InterfaceChoice): AdoptedApp {
  if (choice === 'fetch' || (choice === 'auto' && isFetchHandler(given))) return { app: fromFetch(given as FetchHandler), bridge: 'fetch' };
  if (choice === 'node' || (choice === 'auto' && isNodeHandler(given))) return { app: fromNodeHandler(given as NodeHandler), bridge: 'node' };
  return { app: given, bridge: null };
}
