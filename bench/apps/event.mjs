// The benchmark app as an event app (docs/spec.md §9-§12): async app(scope, receive, send), one
// call per request, per websocket connection and for the lifespan. Same HTTP routes and bodies as
// gateway-sync.mjs (payloads.mjs), plus a websocket echo on /ws for the ws-echo scenarios.
//
//   node dist/cli/main.js --backend uws --interface event bench/apps/event.mjs:app
//
// Written the way a careful ASGI app is: every send() awaited, header lists and constant bodies
// built once (as the gateway apps do), streams in more_body messages, the request body read with
// receive() until more_body is false.
import {
  BINARY_HEADERS, BODY_64K, HELLO_BYTES, JSON_BODY, JSON_HEADERS, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS,
  STREAM_CHUNK, TEXT_HEADERS, countScopeHeaders,
} from './payloads.mjs';

const NOT_FOUND = Buffer.from('not found');

export async function app(scope, receive, send) {
  if (scope.type === 'http') return http(scope, receive, send);
  if (scope.type === 'websocket') return websocket(scope, receive, send);
  if (scope.type === 'lifespan') return lifespan(receive, send);
}
app.tsgiInterface = 'event';

async function http(scope, receive, send) {
  switch (scope.path) {
    case '/hello':
      return whole(send, 200, TEXT_HEADERS, HELLO_BYTES);
    case '/json':
      return whole(send, 200, JSON_HEADERS, JSON_BODY);
    case '/64k':
      return whole(send, 200, BINARY_HEADERS, BODY_64K);
    case '/1m':
      return stream(send, STREAM_1M_CHUNKS);
    case '/100m':
      return stream(send, STREAM_100M_CHUNKS);
    case '/echo': {
      const parts = [];
      let message;
      do {
        message = await receive();
        if (message.type !== 'http.request') return; // http.disconnect: the client left
        if (message.body.byteLength > 0) parts.push(message.body);
      } while (message.more_body);
      // One piece is the common case for 4 KiB; only join when the body came in several.
      return whole(send, 200, BINARY_HEADERS, parts.length === 1 ? parts[0] : Buffer.concat(parts));
    }
    case '/headers':
      return whole(send, 200, TEXT_HEADERS, Buffer.from(String(countScopeHeaders(scope.headers))));
    default:
      return whole(send, 404, TEXT_HEADERS, NOT_FOUND);
  }
}

/** The fast path: one body message without more_body, sent with a Content-Length. */
async function whole(send, status, headers, body) {
  await send({ type: 'http.response.start', status, headers });
  await send({ type: 'http.response.body', body });
}

/** No length given and more_body on every chunk: chunked, each send() honouring backpressure. */
async function stream(send, count) {
  await send({ type: 'http.response.start', status: 200, headers: BINARY_HEADERS });
  for (let i = 0; i < count; i++) await send({ type: 'http.response.body', body: STREAM_CHUNK, more_body: true });
  await send({ type: 'http.response.body' });
}

/** /ws: accept, then send every message back as it came (text as text, bytes as bytes). */
async function websocket(scope, receive, send) {
  if (scope.path !== '/ws') {
    await send({ type: 'websocket.close' }); // before accepting: the client gets 403
    return;
  }
  if ((await receive()).type !== 'websocket.connect') return;
  await send({ type: 'websocket.accept' });
  for (;;) {
    const message = await receive();
    if (message.type !== 'websocket.receive') return; // websocket.disconnect
    await send(message.text !== undefined ? { type: 'websocket.send', text: message.text } : { type: 'websocket.send', bytes: message.bytes });
  }
}

async function lifespan(receive, send) {
  for (;;) {
    const message = await receive();
    if (message.type === 'lifespan.startup') await send({ type: 'lifespan.startup.complete' });
    else if (message.type === 'lifespan.shutdown') {
      await send({ type: 'lifespan.shutdown.complete' });
      return;
    }
  }
}
