// The benchmark routes as a Hono app, written the way its docs show (c.text, c.json, c.body), for
// the fetch-handler rows: tsgi-llhttp-hono (the tsgi CLI, which recognises the default export as
// a fetch handler) and hono-node-server (@hono/node-server's serve(), bench/servers/).
//
//   node dist/cli/main.js --backend llhttp bench/apps/hono.mjs
//
// Same bodies as every other server (payloads.mjs). Constant bodies are the shared Buffers, as the
// other apps use them; /hello returns the string, as a Hono user writes it.
import { Hono } from 'hono';
import {
  BINARY, BODY_64K, HEADER_NAMES, HELLO, JSON_BODY, JSON_TYPE, STREAM_1M_CHUNKS, STREAM_100M_CHUNKS, STREAM_CHUNK,
} from './payloads.mjs';

const app = new Hono();

app.get('/hello', (c) => c.text(HELLO));
// The document is serialised once (payloads.mjs): c.body with the type, rather than c.json, which
// would stringify per request and measure JSON.stringify.
app.get('/json', (c) => c.body(JSON_BODY, 200, { 'content-type': JSON_TYPE }));
app.get('/64k', (c) => c.body(BODY_64K, 200, { 'content-type': BINARY }));
app.get('/1m', (c) => c.body(chunks(STREAM_1M_CHUNKS), 200, { 'content-type': BINARY }));
app.get('/100m', (c) => c.body(chunks(STREAM_100M_CHUNKS), 200, { 'content-type': BINARY }));
app.post('/echo', async (c) => c.body(await c.req.arrayBuffer(), 200, { 'content-type': BINARY }));
app.get('/headers', (c) => {
  let seen = 0;
  for (const name of HEADER_NAMES) if (c.req.header(name) !== undefined) seen++;
  return c.text(String(seen));
});

/** `count` chunks of 64 KiB as a stream that makes the next one only when asked (backpressure). */
function chunks(count) {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent++ < count) controller.enqueue(STREAM_CHUNK);
      else controller.close();
    },
  });
}

export default app;
