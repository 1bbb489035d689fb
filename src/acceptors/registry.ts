/**
 * Every backend tsgi can serve on, in one list: the CLI's choices, `serve()`'s validation, the
 * `auto` order and the test suites all come from it. Adding a backend is a folder under
 * src/acceptors/ whose index.ts exports a `Backend`, plus one line here.
 */
import { llhttp } from './llhttp/index.js';
import { node } from './node/index.js';
import type { Backend } from './types.js';
import { uws } from './uws/index.js';

/** In `auto`'s order of preference (only those marked `auto` are tried: llhttp, then node). */
export const BACKENDS = [llhttp, uws, node] as const satisfies readonly Backend[];

export type BackendName = (typeof BACKENDS)[number]['name'];

export const BACKEND_NAMES: readonly BackendName[] = BACKENDS.map((backend) => backend.name);

export function findBackend(name: string): Backend<BackendName> | undefined {
  return BACKENDS.find((backend) => backend.name === name);
}
