/**
 * `httpsRedirect(app, options?)`: sends every plain-http request to the same URL on https. The
 * scheme is the one the server reports (`tsgi.url_scheme`, `scope.scheme`), which already
 * reflects `X-Forwarded-Proto` / `Forwarded` from trusted proxies, so a TLS-terminating proxy in
 * front does not cause a redirect loop.
 */
import type { EventApp, HttpScope, Send } from '../../spec/event-types.js';
import type { Environ, GatewayApp } from '../../spec/types.js';
import { environHeader, scopeHeader } from '../shared/headers.js';
import { requireApp, wrapEither, type AnyApp } from '../shared/kind.js';
import { httpsLocation, type RequestUrl } from './location.js';
import { redirectPolicy, type HttpsRedirectOptions, type RedirectPolicy } from './options.js';

const NO_HOST = Buffer.from('Invalid host header', 'utf8');
const NO_HOST_HEADERS: [string, string][] = [
  ['Content-Type', 'text/plain; charset=utf-8'],
  ['Content-Length', String(NO_HOST.byteLength)],
];

export function httpsRedirect<A extends AnyApp>(app: A, options?: HttpsRedirectOptions): A {
  requireApp(app, 'httpsRedirect');
  const policy = redirectPolicy(options);
  return wrapEither(app, 'httpsRedirect', {
    gateway: (inner) => gatewayRedirect(inner, policy),
    event: (inner) => eventRedirect(inner, policy),
  });
}

function gatewayRedirect(inner: GatewayApp, policy: RedirectPolicy): GatewayApp {
  return (environ, startResponse) => {
    if (environ['tsgi.url_scheme'] !== 'http') return inner(environ, startResponse);
    const location = httpsLocation(environUrl(environ), policy.httpsPort);
    if (location === null) {
      startResponse('400 Bad Request', NO_HOST_HEADERS);
      return [NO_HOST];
    }
    startResponse(policy.statusLine, [['Location', location], ['Content-Length', '0']]);
    return [];
  };
}

function eventRedirect(inner: EventApp, policy: RedirectPolicy): EventApp {
  return async (scope, receive, send) => {
    if (scope.type === 'http' && scope.scheme === 'http') return redirectHttp(scope, send, policy);
    // A websocket handshake cannot be redirected (clients do not follow it), and going on in
    // plain text is what this middleware exists to prevent: refuse it (the client sees 403).
    if (scope.type === 'websocket' && scope.scheme === 'ws') return send({ type: 'websocket.close' });
    return inner(scope, receive, send);
  };
}

async function redirectHttp(scope: HttpScope, send: Send, policy: RedirectPolicy): Promise<void> {
  const location = httpsLocation(scopeUrl(scope), policy.httpsPort);
  if (location === null) {
    await send({ type: 'http.response.start', status: 400, headers: NO_HOST_HEADERS });
    await send({ type: 'http.response.body', body: NO_HOST });
    return;
  }
  await send({ type: 'http.response.start', status: policy.status, headers: [['location', location], ['content-length', '0']] });
  await send({ type: 'http.response.body' });
}

function environUrl(environ: Environ): RequestUrl {
  return {
    host: environHeader(environ, 'host'),
    serverName: environ.SERVER_NAME,
    serverPort: environ.SERVER_PORT,
    scriptName: environ.SCRIPT_NAME,
    pathInfo: environ.PATH_INFO,
    rawPath: environ['tsgi.raw_path'],
    query: environ.QUERY_STRING,
  };
}

function scopeUrl(scope: HttpScope): RequestUrl {
  return {
    host: scopeHeader(scope, 'host'),
    serverName: scope.server?.[0] ?? '',
    serverPort: scope.server?.[1] == null ? '' : String(scope.server[1]),
    scriptName: scope.root_path,
    pathInfo: scope.path,
    rawPath: scope.raw_path,
    query: scope.query_string,
  };
}
