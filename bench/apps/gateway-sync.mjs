// The benchmark app as a plain (synchronous) gateway function: tsgi buffers any request body
// before calling it, so /echo reads it with the synchronous read(). Routes and bodies match
// bench/servers/node-http.mjs and bench/servers/uws-raw.mjs exactly (see payloads.mjs).
//
//   node dist/cli/main.js --backend uws bench/apps/gateway-sync.mjs:app
import {
  BINARY_HEADERS, BODY_64K, HELLO, JSON_BODY, JSON_HEADERS, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS, STREAM_CHUNK,
  TEXT_HEADERS, countHeaders,
} from './payloads.mjs';

export function app(environ, startResponse) {
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
      // A generator has no known length: tsgi streams it chunked, with backpressure.
      startResponse('200 OK', BINARY_HEADERS);
      return chunks(STREAM_1M_CHUNKS);
    case '/100m':
      startResponse('200 OK', BINARY_HEADERS);
      return chunks(STREAM_100M_CHUNKS);
    case '/echo':
      startResponse('200 OK', BINARY_HEADERS);
      return [environ['tsgi.input'].read()];
    case '/headers':
      startResponse('200 OK', TEXT_HEADERS);
      return [String(countHeaders(environ))];
    default:
      startResponse('404 Not Found', TEXT_HEADERS);
      return ['not found'];
  }
}

function* chunks(count) {
  for (let i = 0; i < count; i++) yield STREAM_CHUNK;
}
