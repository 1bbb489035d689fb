export { cors } from './cors.js';
export type { CorsOptions } from './options.js';
export type { OriginOption } from './origin.js';
