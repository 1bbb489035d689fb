/**
 * `toNodeHandler(app)`: a tsgi app (gateway or event) as a Node request listener `(req, res)`, so
 * it runs under `http.createServer`, `https.createServer`, inside Express or connect
 * (`expressApp.use('/x', toNodeHandler(app))`, where the mount prefix becomes `root_path` /
 * SCRIPT_NAME) and on any platform that wants a listener. Streaming, backpressure, `close()` once
 * and client disconnects keep their tsgi meaning (docs/spec.md §6, §10).
 *
 * A listener gets no lifespan and no upgrades: the lifespan is run by `startup()` / `shutdown()`
 * on the returned handler, and websockets are not served (a listener never sees the upgrade).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyApp } from '../middleware/shared/kind.js';
import { HostedApp, type HostOptions, type LifespanControl } from './host/app.js';
import { stderrSink } from './host/report.js';
import { NodeExchange } from './to-node/exchange.js';
import { scopeFromNodeRequest } from './to-node/scope.js';

export type ToNodeHandlerOptions = HostOptions;

/**
 * A Node request listener. `next` (Express, connect) is accepted and never called: the app answers
 * every request it is given, its own 404s included.
 */
export type TsgiNodeHandler = ((req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void) & LifespanControl;

export function toNodeHandler(app: AnyApp, options: ToNodeHandlerOptions = {}): TsgiNodeHandler {
  const hosted = new HostedApp(app, options, 'toNodeHandler', stderrSink());
  const serveRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const exchange = new NodeExchange(req, res, scopeFromNodeRequest(req, hosted.stateCopy()), hosted.report);
    exchange.run(hosted.app);
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const startup = hosted.pendingStartup;
    if (startup === null) serveRequest(req, res);
    // A request during startup waits for it; a failed startup was reported to whoever called it.
    else startup.then(() => serveRequest(req, res), () => serveRequest(req, res));
  };
  return Object.defineProperties(handler, {
    startup: { value: () => hosted.startup(), enumerable: true },
    shutdown: { value: () => hosted.shutdown(), enumerable: true },
    state: { get: () => hosted.state, enumerable: true },
  }) as TsgiNodeHandler;
}
