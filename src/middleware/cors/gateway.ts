/**
 * `cors()` for gateway apps: preflights are answered here; for other requests `startResponse`
 * is wrapped to edit the header list and nothing else, so the app's body (array, generator,
 * async iterable, with or without `close()`) is returned as is, and `write()` and a second call
 * with `excInfo` keep working exactly as the server implements them.
 */
import type { GatewayApp, StartResponse } from '../../spec/types.js';
import { environHeader } from '../shared/headers.js';
import type { CorsPolicy } from './options.js';
import { answerPreflight } from './preflight.js';
import { responseEdit } from './response-headers.js';

const REASONS = { 204: '204 No Content', 403: '403 Forbidden' } as const;

export function gatewayCors(inner: GatewayApp, policy: CorsPolicy): GatewayApp {
  return (environ, startResponse) => {
    const origin = environHeader(environ, 'origin');
    if (origin !== undefined && environ.REQUEST_METHOD === 'OPTIONS') {
      const requestMethod = environHeader(environ, 'access-control-request-method');
      if (requestMethod !== undefined) {
        const answer = answerPreflight(policy, origin, requestMethod, environHeader(environ, 'access-control-request-headers'));
        startResponse(REASONS[answer.status], answer.headers);
        return answer.body.byteLength === 0 ? [] : [answer.body];
      }
    }
    const edit = responseEdit(policy, origin);
    if (edit === null) return inner(environ, startResponse);
    const wrapped: StartResponse = (status, headers, excInfo) => {
      // A header list the server would refuse goes to it unedited, so its own message names the mistake.
      const edited = Array.isArray(headers) ? edit(headers) : headers;
      return excInfo === undefined ? startResponse(status, edited) : startResponse(status, edited, excInfo);
    };
    return inner(environ, wrapped);
  };
}
