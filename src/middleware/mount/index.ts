/**
 * `mount(fallback, { '/admin': adminApp, '/api': apiApp })`: werkzeug's DispatcherMiddleware for
 * tsgi. The longest prefix that matches the path on a segment boundary wins (`/admin` and
 * `/admin/x` go to admin, `/administrator` does not); the rest goes to `fallback`.
 *
 * The result speaks the gateway interface when every app does; when any app is an event app it is
 * an event app, and the gateway apps in it run through `gatewayToEvent` (websockets need the
 * event interface, so a mount that routes them must be one).
 */
import { gatewayToEvent } from '../../bridges/gateway-to-event.js';
import { DEFAULT_MAX_BODY_SIZE } from '../../spec/constants.js';
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp } from '../../spec/types.js';
import { eventWrapper, isEventApp, requireApp, type AnyApp } from '../shared/kind.js';
import { mountEvent } from './event.js';
import { mountGateway } from './gateway.js';
import { mountPoints } from './prefixes.js';

export interface MountOptions {
  /**
   * Largest request body read on behalf of a buffered gateway app when the mount streams (its
   * apps mix input modes, or it is an event mount): 413 beyond. Default 1 MiB, the server's.
   */
  maxBodySize?: number;
}

export type MountMapping = Record<string, AnyApp>;

// A mount of gateway apps is a gateway app; as soon as one app is an event app, it is an event app.
export function mount(fallback: GatewayApp, mapping: Record<string, GatewayApp>, options?: MountOptions): GatewayApp;
export function mount(fallback: AnyApp, mapping: MountMapping, options?: MountOptions): EventApp;
export function mount(fallback: AnyApp, mapping: MountMapping, options: MountOptions = {}): AnyApp {
  requireApp(fallback, 'mount');
  const maxBodySize = options.maxBodySize ?? DEFAULT_MAX_BODY_SIZE;
  if (!Number.isFinite(maxBodySize) || maxBodySize < 0) {
    throw new RangeError(`mount() maxBodySize must be a non-negative number of bytes; got ${maxBodySize}`);
  }
  const points = mountPoints(mapping, (app, prefix) => {
    if (typeof app !== 'function') throw new TypeError(`mount() prefix ${JSON.stringify(prefix)} maps to ${app === null ? 'null' : typeof app}, not an app`);
    return app as AnyApp;
  });
  const anyEvent = isEventApp(fallback) || points.some((point) => isEventApp(point.app));
  if (!anyEvent) {
    return mountGateway(fallback as GatewayApp, points as { prefix: string; app: GatewayApp }[], maxBodySize);
  }
  const asEvent = (app: AnyApp): EventApp => (isEventApp(app) ? app : gatewayToEvent(app as GatewayApp, { maxBodySize }));
  const eventPoints = points.map((point) => ({ prefix: point.prefix, app: asEvent(point.app) }));
  return eventWrapper(mountEvent(asEvent(fallback), eventPoints));
}
