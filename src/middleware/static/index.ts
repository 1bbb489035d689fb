/**
 * staticFiles(app, { root }): serves GET and HEAD requests from a directory and hands every other
 * request to `app`. See /docs/middleware.md#staticfiles.
 */
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp } from '../../spec/types.js';
import { requireApp, wrapEither, type AnyApp } from '../shared/kind.js';
import { staticEvent } from './event.js';
import { staticGateway } from './gateway.js';
import { resolveOptions, type StaticFilesOptions } from './options.js';

export type { StaticFilesOptions };

/**
 * Wraps `app` (a gateway or an event app; the result speaks the same interface) so that GET and
 * HEAD requests for files under `options.root` are answered from disk, and everything else (other
 * methods, missing files, dotfiles, directories without an index, websockets, lifespan) reaches
 * `app`. Throws at once when `options.root` is not a directory.
 */
export function staticFiles<A extends AnyApp>(app: A, options: StaticFilesOptions): A {
  requireApp(app, 'staticFiles');
  const config = resolveOptions(options);
  return wrapEither(app, 'staticFiles', {
    gateway: (inner: GatewayApp) => staticGateway(inner, config),
    event: (inner: EventApp) => staticEvent(inner, config),
  });
}
