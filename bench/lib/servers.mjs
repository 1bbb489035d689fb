// The servers under test, in the order each round visits them. Every one is a separate process
// answering the same routes (bench/apps/payloads.mjs); only one runs at a time. `websocket`: the
// server has the /ws echo the ws-echo scenarios need (gateway apps have no websockets at all).
import { fileURLToPath } from 'node:url';
import { nginxStaticArgv } from '../servers/nginx-static.mjs';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const CLI = here('../../dist/cli/main.js');
const SYNC_APP = `${here('../apps/gateway-sync.mjs')}:app`;
const ASYNC_APP = `${here('../apps/gateway-async.mjs')}:app`;
const EVENT_APP = `${here('../apps/event.mjs')}:app`;
const COMPOSED_APP = `${here('../apps/composed.mjs')}:app`;
const STATIC_APP = `${here('../apps/static.mjs')}:app`;
// The default export, a Hono app: the CLI recognises an object with a fetch method.
const HONO_APP = here('../apps/hono.mjs');
const EXPRESS_APP = `${here('../apps/express.mjs')}:app`;
const NO_WS_ROUTE = 'n/a: the app has no websocket route';

/** The tsgi command line, exactly as a user would run it. */
const tsgi = (backend, app, extra = []) => (port) => [
  CLI, '--backend', backend, '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', ...extra, app,
];

export const BASELINE = 'node-http';
export const CEILING = 'uws-raw';

export const SERVERS = [
  { name: 'tsgi-llhttp-sync', role: 'tsgi', argv: tsgi('llhttp', SYNC_APP), websocket: false, about: 'tsgi CLI, llhttp backend, plain-function app' },
  { name: 'tsgi-llhttp-async', role: 'tsgi', argv: tsgi('llhttp', ASYNC_APP), websocket: false, about: 'tsgi CLI, llhttp backend, async-function app' },
  { name: 'tsgi-llhttp-event', role: 'tsgi', argv: tsgi('llhttp', EVENT_APP, ['--interface', 'event']), websocket: true, about: 'tsgi CLI, llhttp backend, event app (scope, receive, send)' },
  { name: 'tsgi-uws-sync', role: 'tsgi', argv: tsgi('uws', SYNC_APP), websocket: false, about: 'tsgi CLI, uws backend, plain-function app' },
  { name: 'tsgi-uws-async', role: 'tsgi', argv: tsgi('uws', ASYNC_APP), websocket: false, about: 'tsgi CLI, uws backend, async-function app' },
  { name: 'tsgi-uws-event', role: 'tsgi', argv: tsgi('uws', EVENT_APP, ['--interface', 'event']), websocket: true, about: 'tsgi CLI, uws backend, event app (scope, receive, send)' },
  { name: 'tsgi-node', role: 'tsgi', argv: tsgi('node', SYNC_APP), websocket: false, about: 'tsgi CLI, node backend, plain-function app' },
  { name: 'tsgi-node-event', role: 'tsgi', argv: tsgi('node', EVENT_APP, ['--interface', 'event']), websocket: true, about: 'tsgi CLI, node backend, event app (scope, receive, send)' },
  // Named with --servers only (not in the default rounds): what --metrics-bind costs the request path.
  { name: 'tsgi-llhttp-sync-metrics', role: 'tsgi', extra: true, argv: tsgi('llhttp', SYNC_APP, ['--metrics-bind', '127.0.0.1:0']), websocket: false, about: 'tsgi-llhttp-sync with --metrics-bind' },
  // What the middleware cost: hello through compose(app, mount, cors, compress) (issue 11).
  { name: 'tsgi-llhttp-sync-composed', role: 'tsgi', extra: true, argv: tsgi('llhttp', COMPOSED_APP), websocket: false, about: 'tsgi-llhttp-sync behind compose(app, mount, cors, compress)' },
  // Static files: staticFiles() against nginx serving the same file (scenario static-64k).
  { name: 'tsgi-llhttp-static', role: 'tsgi', extra: true, static: true, argv: tsgi('llhttp', STATIC_APP), websocket: false, about: 'tsgi-llhttp-sync behind staticFiles()' },
  { name: 'nginx-static', role: 'reference', extra: true, static: true, command: 'nginx', argv: nginxStaticArgv, websocket: false, about: 'nginx 1 process, sendfile, the same file' },
  // Apps people already have (issue 12), each against its usual server. `routes`: the only bench
  // paths the app answers; scenarios on other paths are n/a for it.
  { name: 'tsgi-llhttp-hono', noWebSocket: NO_WS_ROUTE, role: 'tsgi', extra: true, argv: tsgi('llhttp', HONO_APP), websocket: false, about: 'tsgi CLI, llhttp backend, a Hono app (fetch handler)' },
  { name: 'hono-node-server', noWebSocket: NO_WS_ROUTE, role: 'reference', extra: true, argv: (port) => [here('../servers/hono-node-server.mjs'), '--port', String(port)], websocket: false, about: 'the same Hono app on @hono/node-server serve()' },
  { name: 'tsgi-llhttp-express', noWebSocket: NO_WS_ROUTE, role: 'tsgi', extra: true, routes: ['/hello', '/json'], argv: tsgi('llhttp', EXPRESS_APP, ['--interface', 'node']), websocket: false, about: 'tsgi CLI, llhttp backend, an Express 5 app (--interface node)' },
  { name: 'express-node-http', noWebSocket: NO_WS_ROUTE, role: 'reference', extra: true, routes: ['/hello', '/json'], argv: (port) => [here('../servers/express-node-http.mjs'), '--port', String(port)], websocket: false, about: 'the same Express 5 app on http.createServer' },
  { name: BASELINE, role: 'baseline', argv: (port) => [here('../servers/node-http.mjs'), '--port', String(port)], websocket: true, about: 'http.createServer, bare handler; ws package on /ws' },
  { name: CEILING, role: 'ceiling', argv: (port) => [here('../servers/uws-raw.mjs'), '--port', String(port)], websocket: true, about: 'uWebSockets.js App().any(), bare handler; App().ws() on /ws' },
];

export function findServers(names) {
  if (names === undefined) return SERVERS.filter((server) => server.extra !== true);
  return names.map((name) => {
    const server = SERVERS.find((candidate) => candidate.name === name);
    if (server === undefined) throw new Error(`unknown server ${JSON.stringify(name)}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
    return server;
  });
}

/** Why `server` cannot run `scenario` (the table shows it as n/a), or null when it can. */
export function notApplicable(scenario, server) {
  if (scenario.kind === 'ws' && !server.websocket) return server.noWebSocket ?? 'n/a: a gateway app has no websockets';
  if (scenario.static === true && server.static !== true) return 'n/a: serves no static files';
  if (server.command === 'nginx' && scenario.static !== true) return 'n/a: nginx serves only the static file';
  // Both the loaded path and the answer-check path (slow-100m checks /hello) must be served.
  const paths = [scenario.path, scenario.checkPath].filter((path) => path !== undefined);
  if (server.routes !== undefined && paths.some((path) => !server.routes.includes(path))) {
    return `n/a: the app answers only ${server.routes.join(', ')}`;
  }
  return null;
}
