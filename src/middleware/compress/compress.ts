/**
 * compress(app, options): the response body compressed with the best encoding the client
 * accepts (zstd, brotli, gzip), for gateway and event apps alike.
 */
import { requireApp, wrapEither, type AnyApp } from '../shared/kind.js';
import { eventCompress } from './event.js';
import { gatewayCompress } from './gateway.js';
import { Negotiator } from './negotiate.js';
import { compressConfig, type CompressOptions } from './options.js';

export function compress<A extends AnyApp>(app: A, options?: CompressOptions): A {
  requireApp(app, 'compress');
  // Validated here, once, so a bad option stops the server at start-up.
  const config = compressConfig(options);
  const negotiator = new Negotiator(config.encodings);
  return wrapEither(app, 'compress', {
    gateway: (inner) => gatewayCompress(inner, config, negotiator),
    event: (inner) => eventCompress(inner, config, negotiator),
  });
}
