// The benchmark app as an `async function`: tsgi calls it as soon as the request head arrives and
// the app streams the body with `for await`. Same routes and bodies as gateway-sync.mjs, so the
// difference between the two rows is the cost of the async path (promise, async iterables).
//
//   node dist/cli/main.js --backend uws bench/apps/gateway-async.mjs:app
import {
  BINARY_HEADERS, BODY_64K, HELLO, JSON_BODY, JSON_HEADERS, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS, STREAM_CHUNK,
  TEXT_HEADERS, countHeaders,
} from './payloads.mjs';

export async function app(environ, startResponse) {
  switch (environ.PATH_INFO) {
    case '/hello':
      startResponse('200 OK', TEXT_HEADERS);
      return [HELLO];
    case '/json':
      startResponse('200 OK', JSON_HEADERS);
      return [JSON_BODY];
    case '/64k':
      startResponse('200 OK', BINARY_HEADERS);
      return [BODY_64K];
    case '/1m':
      startResponse('200 OK', BINARY_HEADERS);
      return chunks(STREAM_1M_CHUNKS);
    case '/100m':
      startResponse('200 OK', BINARY_HEADERS);
      return chunks(STREAM_100M_CHUNKS);
    case '/echo': {
      const parts = [];
      for await (const chunk of environ['tsgi.input']) parts.push(chunk);
      startResponse('200 OK', BINARY_HEADERS);
      // One chunk is the common case for 4 KiB; only join when the body came in pieces.
      return parts.length === 1 ? parts : [Buffer.concat(parts)];
    }
    case '/headers':
      startResponse('200 OK', TEXT_HEADERS);
      return [String(countHeaders(environ))];
    default:
      startResponse('404 Not Found', TEXT_HEADERS);
      return ['not found'];
  }
}

async function* chunks(count) {
  for (let i = 0; i < count; i++) yield STREAM_CHUNK;
}
