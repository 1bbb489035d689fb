/**
 * `cors(app, options?)`: lets pages on other origins call the app from a browser, per the Fetch
 * standard's CORS protocol: preflights answered, allowed origins told so on every response.
 */
import { requireApp, wrapEither, type AnyApp } from '../shared/kind.js';
import { eventCors } from './event.js';
import { gatewayCors } from './gateway.js';
import { corsPolicy, type CorsOptions } from './options.js';

export function cors<A extends AnyApp>(app: A, options?: CorsOptions): A {
  requireApp(app, 'cors');
  const policy = corsPolicy(options);
  return wrapEither(app, 'cors', {
    gateway: (inner) => gatewayCors(inner, policy),
    event: (inner) => eventCors(inner, policy),
  });
}
