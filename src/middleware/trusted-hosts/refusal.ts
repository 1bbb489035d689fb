/**
 * What a request with a host outside the list gets, on each interface. HTTP requests get a 400
 * with a short plain-text body (the same answer a server gives a malformed `Host`); a websocket
 * cannot be answered with a body through the event interface, so it is closed before the
 * handshake completes, which the server turns into `403 Forbidden` for the client.
 */
import type { Send } from '../../spec/event-types.js';
import type { AnyBody, StartResponse } from '../../spec/types.js';

const MESSAGE = 'Invalid host header';
const BODY = Buffer.from(MESSAGE, 'utf8');
const HEADERS: [string, string][] = [
  ['Content-Type', 'text/plain; charset=utf-8'],
  ['Content-Length', String(BODY.byteLength)],
];

export function refuseGateway(startResponse: StartResponse): AnyBody {
  startResponse('400 Bad Request', HEADERS);
  return [BODY];
}

export async function refuseHttp(send: Send): Promise<void> {
  await send({ type: 'http.response.start', status: 400, headers: HEADERS });
  await send({ type: 'http.response.body', body: BODY });
}

export async function refuseWebSocket(send: Send): Promise<void> {
  // Before websocket.accept, a close refuses the handshake: the client sees 403.
  await send({ type: 'websocket.close', code: 1008, reason: MESSAGE });
}
