/**
 * Validation of what a websocket app sends: `websocket.accept`, `websocket.send` and
 * `websocket.close`. Each function returns what the acceptor needs or throws a ProtocolError
 * that names the field, the value and the fix.
 */
import { ResponseHeadError, type ResponseHeadCache } from '../core/response-head.js';
import type { HeaderPair } from '../spec/types.js';
import { toHeaderPairs } from './headers.js';
import { ProtocolError } from './runtime.js';

export interface AcceptDecision {
  subprotocol: string | null;
  headers: readonly HeaderPair[];
}

export interface CloseDecision {
  code: number;
  reason: string;
}

/** Any status works for header validation; this one is also what most cache entries carry. */
const VALIDATION_STATUS = '200 OK';

/** `heads` validates (and remembers) the accept headers as every response head is validated. */
export function parseAccept(message: object, offered: readonly string[], heads: ResponseHeadCache): AcceptDecision {
  const { subprotocol, headers } = message as { subprotocol?: unknown; headers?: unknown };
  let chosen: string | null = null;
  if (subprotocol !== undefined && subprotocol !== null) {
    if (typeof subprotocol !== 'string' || !offered.includes(subprotocol)) {
      throw new ProtocolError(
        `websocket.accept subprotocol must be one the client offered (scope.subprotocols: ` +
          `${JSON.stringify(offered)}) or null; got ${JSON.stringify(subprotocol)}`,
      );
    }
    chosen = subprotocol;
  }
  const pairs = toHeaderPairs(headers, 'websocket.accept');
  if (pairs.length === 0) return { subprotocol: chosen, headers: pairs };
  let head;
  try {
    // The same rules as every response head: tokens, no CR/LF, no hop-by-hop headers.
    head = heads.get(VALIDATION_STATUS, pairs, 'websocket.accept');
  } catch (error) {
    if (error instanceof ResponseHeadError) throw new ProtocolError(error.message);
    throw error;
  }
  if (head.declaredLength !== -1) {
    throw new ProtocolError('websocket.accept headers must not include Content-Length: a 101 response has no body');
  }
  for (const [name] of head.headers) {
    if (name.toLowerCase().startsWith('sec-websocket-')) {
      throw new ProtocolError(
        `websocket.accept header ${name} belongs to the handshake, which the server writes; ` +
          `choose a subprotocol with the "subprotocol" field instead`,
      );
    }
  }
  return { subprotocol: chosen, headers: head.headers };
}

/** The payload of `websocket.send`: a string for a text message, bytes for a binary one. */
export function parseSend(message: object): string | Uint8Array {
  const { text, bytes } = message as { text?: unknown; bytes?: unknown };
  const hasText = text !== undefined && text !== null;
  const hasBytes = bytes !== undefined && bytes !== null;
  if (hasText === hasBytes) {
    throw new ProtocolError(
      `websocket.send needs exactly one of "text" (a string) and "bytes" (a Uint8Array); got ` +
        (hasText ? 'both' : 'neither'),
    );
  }
  if (hasText) {
    if (typeof text !== 'string') throw new ProtocolError(`websocket.send "text" must be a string; got ${typeof text}`);
    return text;
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new ProtocolError(
      `websocket.send "bytes" must be a Uint8Array (a Buffer is one); got ${typeof bytes}. Send strings as "text".`,
    );
  }
  return bytes;
}

/** Close codes an endpoint may put on the wire (RFC 6455 §7.4; 1004–1006 and 1015 are reserved). */
function sendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** A close frame holds at most 125 bytes: the 2-byte code and the reason. */
const MAX_REASON_BYTES = 123;

export function parseClose(message: object): CloseDecision {
  const { code = 1000, reason = '' } = message as { code?: unknown; reason?: unknown };
  if (typeof code !== 'number' || !Number.isInteger(code) || !sendableCode(code)) {
    throw new ProtocolError(
      `websocket.close code must be 1000-1003, 1007-1014 or 3000-4999 (1000 when omitted); got ${JSON.stringify(code)}`,
    );
  }
  if (typeof reason !== 'string' || Buffer.byteLength(reason, 'utf8') > MAX_REASON_BYTES) {
    throw new ProtocolError(
      `websocket.close reason must be a string of at most ${MAX_REASON_BYTES} UTF-8 bytes; got ` +
        (typeof reason === 'string' ? `${Buffer.byteLength(reason, 'utf8')} bytes` : typeof reason),
    );
  }
  return { code, reason };
}
