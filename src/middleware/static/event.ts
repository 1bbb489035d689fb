/** staticFiles() around an event app (scope, receive, send). */
import type { EventApp } from '../../spec/event-types.js';
import { scopeHeader } from '../shared/headers.js';
import { sendFileBody } from './file-body.js';
import type { StaticConfig } from './options.js';
import { planResponse } from './plan.js';

export function staticEvent(inner: EventApp, config: StaticConfig): EventApp {
  return async (scope, receive, send) => {
    // Websockets, lifespan and methods other than GET/HEAD are the inner app's.
    if (scope.type !== 'http' || (scope.method !== 'GET' && scope.method !== 'HEAD')) return inner(scope, receive, send);
    const plan = await planResponse(config, {
      method: scope.method,
      path: scope.path,
      mount: scope.root_path,
      query: scope.query_string,
      header: (name) => scopeHeader(scope, name),
    });
    if (plan.kind === 'pass') return inner(scope, receive, send);
    const body = plan.body;
    if (body === null || body instanceof Uint8Array) {
      await send({ type: 'http.response.start', status: plan.status, headers: plan.headers });
      await send(body === null ? { type: 'http.response.body' } : { type: 'http.response.body', body });
      return;
    }
    try {
      await send({ type: 'http.response.start', status: plan.status, headers: plan.headers });
      await sendFileBody(body, send);
    } finally {
      // Also when a send() rejected because the client left mid-download.
      await body.handle.close();
    }
  };
}
