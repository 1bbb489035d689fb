/**
 * An event app for something that only speaks HTTP (a gateway app, a fetch handler): http scopes
 * go to `serveHttp`, websockets are refused (the client sees 403), and the lifespan protocol is
 * answered, since there is nothing to start or stop, so hosts and `mount` go on.
 */
import { defineEventApp } from '../event/interface.js';
import type { EventApp, HttpScope, Receive, Scope, Send } from '../spec/event-types.js';

export function httpOnlyEventApp(serveHttp: (scope: HttpScope, receive: Receive, send: Send) => Promise<void>): EventApp {
  // Not an async function: an http call returns the promise `serveHttp` returns, with no second
  // promise wrapped around it on every request.
  return defineEventApp((scope: Scope, receive: Receive, send: Send): Promise<void> => {
    if (scope.type === 'http') return serveHttp(scope, receive, send);
    return serveOthers(scope, receive, send);
  });
}

async function serveOthers(scope: Scope, receive: Receive, send: Send): Promise<void> {
  if (scope.type === 'websocket') {
    await send({ type: 'websocket.close', code: 1000 });
    return;
  }
  for (;;) {
    const message = await receive();
    if (message.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
    else if (message.type === 'lifespan.shutdown') {
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}
