/**
 * `tsgi/middleware`: apps that wrap apps. Each is `name(app, options?)` and returns an app of the
 * same interface (docs/middleware.md).
 */
export { mount, type MountOptions, type MountMapping } from './mount/index.js';
export { compose, type Wrapper } from './compose/index.js';
