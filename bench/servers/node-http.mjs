// The baseline: Node's own http module with a bare handler, no framework, no gateway. Every tsgi
// row is reported as a ratio to this one, measured in the same run.
//
//   node bench/servers/node-http.mjs --port 8000
//
// Same routes and bodies as bench/apps/gateway-sync.mjs; written the way a careful Node user
// would write them (Content-Length when known, write() + 'drain' when streaming).
//
// /ws is the websocket baseline for the ws-echo scenarios: the `ws` package on this server (what
// a Node user reaches for), perMessageDeflate off, every message sent back as it came. `ws` is
// loaded on the first upgrade, so the HTTP scenarios (and the memory ones) measure the same bare
// node:http server as before.
import http from 'node:http';
import {
  BINARY, BODY_64K, HEADER_NAMES, HELLO, JSON_BODY, JSON_TYPE, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS,
  STREAM_CHUNK, TEXT,
} from '../apps/payloads.mjs';
import { announceListening, portFromArgs, exitOnSignals } from './common.mjs';

const HELLO_LENGTH = String(Buffer.byteLength(HELLO));

const server = http.createServer((req, res) => {
  switch (req.url) {
    case '/hello':
      res.writeHead(200, { 'Content-Type': TEXT, 'Content-Length': HELLO_LENGTH });
      res.end(HELLO);
      return;
    case '/json':
      res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': JSON_BODY.length });
      res.end(JSON_BODY);
      return;
    case '/64k':
      res.writeHead(200, { 'Content-Type': BINARY, 'Content-Length': BODY_64K.length });
      res.end(BODY_64K);
      return;
    case '/1m':
      res.writeHead(200, { 'Content-Type': BINARY });
      stream(res, STREAM_1M_CHUNKS);
      return;
    case '/100m':
      res.writeHead(200, { 'Content-Type': BINARY });
      stream(res, STREAM_100M_CHUNKS);
      return;
    case '/echo':
      echo(req, res);
      return;
    case '/headers': {
      let seen = 0;
      for (const name of HEADER_NAMES) if (req.headers[name] !== undefined) seen++;
      const body = String(seen);
      res.writeHead(200, { 'Content-Type': TEXT, 'Content-Length': body.length });
      res.end(body);
      return;
    }
    default:
      res.writeHead(404, { 'Content-Type': TEXT });
      res.end('not found');
  }
});

/** Writes `count` chunks, pausing on a full socket buffer until 'drain' (bounded memory). */
function stream(res, count) {
  let sent = 0;
  const writeMore = () => {
    while (sent < count) {
      sent++;
      if (!res.write(STREAM_CHUNK)) {
        res.once('drain', writeMore);
        return;
      }
    }
    res.end();
  };
  // A client that leaves mid-stream must not leave a 'drain' listener waiting forever.
  res.on('close', () => res.removeListener('drain', writeMore));
  writeMore();
}

function echo(req, res) {
  const parts = [];
  req.on('data', (chunk) => parts.push(chunk));
  req.on('end', () => {
    const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    res.writeHead(200, { 'Content-Type': BINARY, 'Content-Length': body.length });
    res.end(body);
  });
}

let webSockets = null;
server.on('upgrade', async (req, socket, head) => {
  if (req.url !== '/ws') {
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  webSockets ??= import('ws').then(({ WebSocketServer }) => new WebSocketServer({ noServer: true, perMessageDeflate: false }));
  const wss = await webSockets;
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

server.listen(portFromArgs(), '127.0.0.1', () => announceListening(server.address().port, 'node-http'));
exitOnSignals(() => server.close());
