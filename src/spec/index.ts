export type * from './types.js';
export * from './constants.js';
