/** The bytes of an `http.response.body` message (docs/spec.md §10): bytes as they are, text as UTF-8. */
import { ProtocolError } from './runtime.js';

const EMPTY = new Uint8Array(0);

export function responseBodyBytes(body: unknown): Uint8Array {
  if (body === undefined || body === null) return EMPTY;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  throw new ProtocolError(`http.response.body body must be a Uint8Array (or a string, sent as UTF-8); got ${typeof body}`);
}
