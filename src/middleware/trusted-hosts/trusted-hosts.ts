/**
 * `trustedHosts(app, hosts)`: answers only requests whose `Host` names one of the allowed hosts,
 * so a forged `Host` (DNS rebinding, cache poisoning, password-reset links built from the host)
 * never reaches the app.
 */
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp } from '../../spec/types.js';
import { environHeader, scopeHeader } from '../shared/headers.js';
import { parseHost } from '../shared/host.js';
import { requireApp, wrapEither, type AnyApp } from '../shared/kind.js';
import { compileHostPatterns } from './patterns.js';
import { refuseGateway, refuseHttp, refuseWebSocket } from './refusal.js';

/** An allowed host: `'example.com'`, `'*.example.com'` (any subdomain, not the apex), `'[::1]'`, or `'*'`. */
export type TrustedHost = string;

export function trustedHosts<A extends AnyApp>(app: A, hosts: TrustedHost | readonly TrustedHost[]): A {
  requireApp(app, 'trustedHosts');
  const matches = compileHostPatterns(hosts);
  const allowed = (value: string | undefined) => {
    if (matches === null) return true;
    const host = parseHost(value);
    return host !== null && matches(host);
  };
  return wrapEither(app, 'trustedHosts', {
    gateway: (inner) => gatewayTrustedHosts(inner, allowed),
    event: (inner) => eventTrustedHosts(inner, allowed),
  });
}

function gatewayTrustedHosts(inner: GatewayApp, allowed: (host: string | undefined) => boolean): GatewayApp {
  // The server has already applied trusted proxy headers: HTTP_HOST is X-Forwarded-Host when a
  // trusted proxy sent one.
  return (environ, startResponse) => (allowed(environHeader(environ, 'host')) ? inner(environ, startResponse) : refuseGateway(startResponse));
}

function eventTrustedHosts(inner: EventApp, allowed: (host: string | undefined) => boolean): EventApp {
  return async (scope, receive, send) => {
    if (scope.type === 'lifespan' || allowed(scopeHeader(scope, 'host'))) return inner(scope, receive, send);
    if (scope.type === 'websocket') return refuseWebSocket(send);
    return refuseHttp(send);
  };
}
