/**
 * `mount` for event apps: `root_path` grows and `path` shrinks (the event form of SCRIPT_NAME and
 * PATH_INFO), for http and websocket scopes alike; lifespan goes to every mounted event app.
 */
import type { EventApp, HttpScope, Receive, Scope, Send, WebSocketScope } from '../../spec/event-types.js';
import { BRIDGED_GATEWAY } from '../../bridges/gateway-to-event.js';
import { fanOutLifespan } from './lifespan.js';
import { matchMount, rawRemainder, type MountPoint } from './prefixes.js';

export function enterMountScope<S extends HttpScope | WebSocketScope>(scope: S, prefix: string): S {
  return {
    ...scope,
    root_path: scope.root_path + prefix,
    path: scope.path.slice(prefix.length),
    raw_path: rawRemainder(scope.raw_path, prefix),
  };
}

export function mountEvent(fallback: EventApp, points: readonly MountPoint<EventApp>[]): EventApp {
  // Bridged gateway apps have no lifespan of their own; only real event apps take part.
  const lifespanApps = [...new Set([fallback, ...points.map((point) => point.app)])].filter(
    (app) => !(BRIDGED_GATEWAY in app),
  );
  return async (scope: Scope, receive: Receive, send: Send) => {
    if (scope.type === 'lifespan') return fanOutLifespan(lifespanApps, scope, receive, send);
    const point = matchMount(points, scope.path);
    if (point === null) return fallback(scope, receive, send);
    return point.app(enterMountScope(scope, point.prefix), receive, send);
  };
}
