/**
 * `toFetch(app)`: a tsgi app (gateway or event) as a fetch handler `(request) => Promise<Response>`,
 * so it runs on Deno (`Deno.serve(toFetch(app))`), Bun, Cloudflare Workers and other fetch hosts
 * (`export default { fetch: toFetch(app) }`; the handler is its own `.fetch` too). The request body
 * is read as the app reads it, the response streams with the consumer's backpressure, and a
 * cancelled body stream or an aborted `request.signal` is http.disconnect (docs/spec.md §10).
 *
 * This module and what it loads are web-standard code plus the shared tsgi core: none of the
 * Node server (sockets, workers, the CLI) is loaded, so it starts on runtimes without it.
 */
import type { AnyApp } from '../middleware/shared/kind.js';
import { HostedApp, type HostOptions, type LifespanControl } from './host/app.js';
import { stderrSink } from './host/report.js';
import { FetchExchange } from './to-fetch/exchange.js';
import { platformClient, scopeFromRequest, type ClientAddress } from './to-fetch/scope.js';

export interface ToFetchOptions extends HostOptions {
  /**
   * The client's `[address, port]` for a request, given what the host passed after it (Deno's
   * `info`, Bun's `server`, Workers' `env, ctx`); null when unknown. Default: Deno's
   * `info.remoteAddr`, Bun's `server.requestIP()`, else null.
   */
  client?: (request: Request, ...platform: unknown[]) => ClientAddress | null;
}

/** A fetch handler that is also its own `{ fetch }` object, with the app's lifespan. */
export type TsgiFetchHandler = ((request: Request, ...platform: unknown[]) => Promise<Response>) &
  LifespanControl & { readonly fetch: (request: Request, ...platform: unknown[]) => Promise<Response> };

export function toFetch(app: AnyApp, options: ToFetchOptions = {}): TsgiFetchHandler {
  const hosted = new HostedApp(app, options, 'toFetch', stderrSink());
  const clientOption = options.client;
  if (clientOption !== undefined && typeof clientOption !== 'function') {
    throw new TypeError(`toFetch() client must be a function (request, ...platform) => [address, port] | null; got ${typeof clientOption}`);
  }
  const clientOf = clientOption ?? ((request: Request, ...platform: unknown[]) => platformClient(request, platform));

  const serveRequest = (request: Request, platform: unknown[]): Promise<Response> => {
    const url = new URL(request.url);
    const scope = scopeFromRequest(request, url, clientOf(request, ...platform), hosted.stateCopy());
    const exchange = new FetchExchange(request, scope, hosted.report);
    exchange.run(hosted.app);
    return exchange.response;
  };
  const handler = async (request: Request, ...platform: unknown[]): Promise<Response> => {
    if (request === null || typeof request !== 'object' || typeof request.url !== 'string' || typeof request.method !== 'string') {
      throw new TypeError(`a toFetch() handler needs a Request; got ${request === null ? 'null' : typeof request}`);
    }
    const startup = hosted.pendingStartup;
    // A request during startup waits for it; a failed startup was reported to whoever called it.
    if (startup !== null) await startup.catch(() => {});
    return serveRequest(request, platform);
  };
  return Object.defineProperties(handler, {
    fetch: { value: handler, enumerable: true },
    startup: { value: () => hosted.startup(), enumerable: true },
    shutdown: { value: () => hosted.shutdown(), enumerable: true },
    state: { get: () => hosted.state, enumerable: true },
  }) as TsgiFetchHandler;
}
