/**
 * `cors()` for event apps: preflights are answered here; for other HTTP requests `send` is
 * wrapped to edit the headers of `http.response.start` and pass every other message (body
 * chunks, trailers) through as the same object, awaited as the server paces it. CORS governs
 * what a page's script may read from HTTP responses; websocket handshakes are not subject to
 * it (browsers send `Origin` but never check an answer), so websocket and lifespan scopes go to
 * the app untouched.
 */
import type { EventApp, Send, SendMessage } from '../../spec/event-types.js';
import { scopeHeader } from '../shared/headers.js';
import type { CorsPolicy } from './options.js';
import { answerPreflight } from './preflight.js';
import { responseEdit, type HeaderEdit } from './response-headers.js';

export function eventCors(inner: EventApp, policy: CorsPolicy): EventApp {
  return async (scope, receive, send) => {
    if (scope.type !== 'http') return inner(scope, receive, send);
    const origin = scopeHeader(scope, 'origin');
    if (origin !== undefined && scope.method === 'OPTIONS') {
      const requestMethod = scopeHeader(scope, 'access-control-request-method');
      if (requestMethod !== undefined) {
        const answer = answerPreflight(policy, origin, requestMethod, scopeHeader(scope, 'access-control-request-headers'));
        await send({ type: 'http.response.start', status: answer.status, headers: answer.headers });
        await send({ type: 'http.response.body', body: answer.body });
        return;
      }
    }
    const edit = responseEdit(policy, origin);
    if (edit === null) return inner(scope, receive, send);
    return inner(scope, receive, editingStart(send, edit));
  };
}

function editingStart(send: Send, edit: HeaderEdit): Send {
  return (message: SendMessage) => {
    if (message?.type !== 'http.response.start') return send(message);
    const headers = textHeaders(message.headers);
    // Headers the server would refuse go to it unedited, so its ProtocolError names the mistake.
    if (headers === null) return send(message);
    return send({ ...message, headers: edit(headers) });
  };
}

/**
 * Event apps may give header names and values as `Uint8Array` (ASGI byte strings, read as
 * Latin-1); edited as strings here. Null when `headers` is not a list of pairs.
 */
function textHeaders(headers: unknown): [string, string][] | null {
  if (headers === undefined || headers === null) return [];
  if (typeof headers !== 'object' || typeof (headers as Iterable<unknown>)[Symbol.iterator] !== 'function') return null;
  const out: [string, string][] = [];
  for (const pair of headers as Iterable<unknown>) {
    if (!Array.isArray(pair) || pair.length !== 2) return null;
    const name = text(pair[0]);
    const value = text(pair[1]);
    if (name === null || value === null) return null;
    out.push([name, value]);
  }
  return out;
}

function text(part: unknown): string | null {
  if (typeof part === 'string') return part;
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('latin1');
  return null;
}
