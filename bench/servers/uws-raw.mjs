// The ceiling: raw uWebSockets.js with a bare handler, no gateway. This is what a JS-handled
// request costs at best on this machine; tsgi's uws rows are also reported as a ratio to it.
//
//   node bench/servers/uws-raw.mjs --port 8000
//
// Written the idiomatic uWS way so the ceiling is fair: writes inside the handler are already
// corked; writes from later callbacks go through res.cork(); a body sent in one piece uses
// tryEnd + onWritable (resume from the write offset); a stream uses write() + onWritable; every
// response that outlives its handler registers onAborted first.
//
// /ws is the websocket ceiling for the ws-echo scenarios: uWS's own websocket route, every
// message sent straight back as it came (text as text, binary as binary), no compression.
import * as uws from 'uWebSockets.js';
import {
  BINARY, BODY_64K, HEADER_NAMES, HELLO, JSON_BODY, JSON_TYPE, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS,
  STREAM_CHUNK, TEXT,
} from '../apps/payloads.mjs';
import { announceListening, portFromArgs, exitOnSignals } from './common.mjs';

const app = uws.App();

app.any('/*', (res, req) => {
  switch (req.getUrl()) {
    case '/hello':
      res.writeHeader('Content-Type', TEXT).end(HELLO);
      return;
    case '/json':
      res.writeHeader('Content-Type', JSON_TYPE).end(JSON_BODY);
      return;
    case '/64k':
      res.writeHeader('Content-Type', BINARY);
      sendWhole(res, BODY_64K);
      return;
    case '/1m':
      res.writeHeader('Content-Type', BINARY);
      streamChunks(res, STREAM_1M_CHUNKS);
      return;
    case '/100m':
      res.writeHeader('Content-Type', BINARY);
      streamChunks(res, STREAM_100M_CHUNKS);
      return;
    case '/echo':
      echo(res);
      return;
    case '/headers': {
      // HttpRequest is only valid during the handler: read the headers now.
      let seen = 0;
      for (const name of HEADER_NAMES) if (req.getHeader(name) !== '') seen++;
      res.writeHeader('Content-Type', TEXT).end(String(seen));
      return;
    }
    default:
      res.writeStatus('404 Not Found').writeHeader('Content-Type', TEXT).end('not found');
  }
});

/**
 * A body of known length: tryEnd writes what the socket takes; if it could not take it all,
 * onWritable resumes from the offset the socket reached (uWS keeps none of the rest for us).
 */
function sendWhole(res, body) {
  const startOffset = res.getWriteOffset();
  const [ok, done] = res.tryEnd(body, body.length);
  if (ok || done) return;
  res.onAborted(() => {}); // nothing to release: the buffer is shared
  res.onWritable((offset) => {
    let accepted = false;
    res.cork(() => {
      [accepted] = res.tryEnd(body.subarray(offset - startOffset), body.length);
    });
    return accepted;
  });
}

/**
 * A body of unknown length (chunked): write() until it reports backpressure (uWS has then
 * buffered that chunk), continue from onWritable. At most about two chunks sit in memory.
 */
function streamChunks(res, count) {
  const stream = { res, count, sent: 0 };
  if (writeChunks(stream)) return;
  res.onAborted(() => {
    stream.sent = stream.count; // stop: the response must not be touched again
  });
  res.onWritable(() => {
    let drained = false;
    res.cork(() => {
      drained = writeChunks(stream);
    });
    return drained;
  });
}

/** Returns true when the response is finished, false when the socket is full. */
function writeChunks(stream) {
  while (stream.sent < stream.count) {
    stream.sent++;
    if (!stream.res.write(STREAM_CHUNK)) return false;
  }
  stream.res.end();
  return true;
}

/** POST /echo: gather the body from onData, answer once the last piece is in. */
function echo(res) {
  const request = { aborted: false, parts: null };
  res.onAborted(() => {
    request.aborted = true;
  });
  res.onData((chunk, isLast) => {
    // `chunk` is only valid during this call: earlier pieces must be copied, the last one (the
    // whole body, for 4 KiB) can be sent straight from uWS's buffer.
    if (!isLast) {
      (request.parts ??= []).push(Buffer.from(new Uint8Array(chunk)));
      return;
    }
    if (request.aborted) return;
    const body = request.parts === null ? chunk : Buffer.concat([...request.parts, Buffer.from(chunk)]);
    res.cork(() => {
      res.writeHeader('Content-Type', BINARY).end(body);
    });
  });
}

// More specific than '/*', so an upgrade to /ws lands here; any other GET still goes to app.any.
app.ws('/ws', {
  compression: uws.DISABLED,
  message: (ws, message, isBinary) => {
    ws.send(message, isBinary);
  },
});

let listenSocket = null;
app.listen('127.0.0.1', portFromArgs(), (socket) => {
  if (!socket) {
    process.stderr.write('uws-raw: cannot listen (port in use?)\n');
    process.exit(1);
  }
  listenSocket = socket;
  announceListening(uws.us_socket_local_port(socket), 'uws-raw');
});
exitOnSignals(() => {
  if (listenSocket) uws.us_listen_socket_close(listenSocket);
});
