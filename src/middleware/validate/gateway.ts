/**
 * `validate()` for gateway apps (docs/spec.md §1–§7): the environ is checked before the app runs,
 * `tsgi.input` and `tsgi.errors` are swapped for checking views of themselves (as wsgiref.validate
 * does), `startResponse` for a checking one, and the returned body for a checking view of it.
 */
import type { Environ, GatewayApp } from '../../spec/types.js';
import { isPromiseLike } from '../shared/body.js';
import { checkEnviron } from './environ.js';
import { wrapBody } from './gateway-body.js';
import { GatewayResponse } from './gateway-response.js';
import { wrapErrors, wrapInput } from './streams.js';
import type { Report } from './violation.js';

export function validateGateway(app: GatewayApp, report: Report): GatewayApp {
  return (environ, startResponse) => {
    checkEnviron(environ, startResponse, report);
    const env = environ as Record<string, unknown>;
    // Replaced in place, as wsgiref.validate does: the environ is the app's to edit (§2), and a
    // copy would turn a server's lazy keys (REMOTE_ADDR on uws, §8) into plain values.
    env['tsgi.input'] = wrapInput(env['tsgi.input'] as Record<PropertyKey, unknown>, report);
    env['tsgi.errors'] = wrapErrors(env['tsgi.errors'] as Record<string, unknown>, report);
    const response = new GatewayResponse(report, startResponse, environ.REQUEST_METHOD === 'HEAD');
    const result: unknown = app(environ as Environ, response.startResponse);
    if (isPromiseLike(result)) {
      return Promise.resolve(result).then((body) => wrapBody(body, response, report)) as ReturnType<GatewayApp>;
    }
    return wrapBody(result, response, report) as ReturnType<GatewayApp>;
  };
}
