/**
 * `tsgi/middleware`: apps that wrap apps. Each is `name(app, options?)` and returns an app of the
 * same interface (docs/middleware.md).
 */
export { mount, type MountOptions, type MountMapping } from './mount/index.js';
export { compose, type Wrapper } from './compose/index.js';
export { cors, type CorsOptions } from './cors/index.js';
export { trustedHosts } from './trusted-hosts/index.js';
export { httpsRedirect, type HttpsRedirectOptions } from './https-redirect/index.js';
export { staticFiles, type StaticFilesOptions } from './static/index.js';
export { validate, ContractViolation, type ValidateOptions } from './validate/index.js';
export { compress, type CompressOptions } from './compress/index.js';
