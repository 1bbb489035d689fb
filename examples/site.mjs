// A small site that shows the middleware together:
//
//   npx tsgi examples/site.mjs
//
// then open http://127.0.0.1:8000/. `staticFiles` serves examples/public/, `mount` puts a JSON
// API (a gateway app) at /api and the websocket chat room from chat.mjs (an event app) at /chat,
// and `compress` on top gzips or brotli-compresses whatever is worth it. The chat speaks the
// event interface, so the mount is an event app and the gateway apps cross with gatewayToEvent.
import { fileURLToPath } from 'node:url';
import { gatewayToEvent } from 'tsgi';
import { compose, compress, mount, staticFiles } from 'tsgi/middleware';
import { app as chat } from './chat.mjs';

/** GET /api/hello?name=… → a greeting as JSON, with the time it was made. */
function api(environ, startResponse) {
  if (environ.PATH_INFO !== '/hello') {
    startResponse('404 Not Found', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ error: `no API route ${environ.SCRIPT_NAME}${environ.PATH_INFO}` })];
  }
  const name = new URLSearchParams(environ.QUERY_STRING).get('name') ?? 'world';
  startResponse('200 OK', [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']]);
  return [JSON.stringify({ greeting: `Hello, ${name}!`, time: new Date().toISOString(), mountedAt: environ.SCRIPT_NAME })];
}

/** What no file, route or room answers. */
function notFound(environ, startResponse) {
  startResponse('404 Not Found', [['Content-Type', 'text/plain; charset=utf-8']]);
  return [`Nothing at ${environ.PATH_INFO}\n`];
}

const site = staticFiles(notFound, { root: fileURLToPath(new URL('./public', import.meta.url)), maxAge: 60 });

export const app = compose(
  gatewayToEvent(site),
  [mount, { '/api': gatewayToEvent(api), '/chat': chat }],
  compress,
);
