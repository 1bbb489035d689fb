export { httpsRedirect } from './https-redirect.js';
export type { HttpsRedirectOptions, RedirectStatus } from './options.js';
