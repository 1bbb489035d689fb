// The bench's hello and json routes as an Express 5 app, for the Node request-listener rows:
// tsgi-llhttp-express (the tsgi CLI with --interface node) and express-node-http (the same app on
// http.createServer, bench/servers/express-node-http.mjs). Other scenarios are n/a for them.
//
//   node dist/cli/main.js --backend llhttp --interface node bench/apps/express.mjs:app
import express from 'express';
import { HELLO, JSON_BODY, JSON_TYPE } from './payloads.mjs';

export const app = express();
// Express adds X-Powered-By and an ETag (a hash of the body) by default; both stay on, as in an
// app written from the guide.
app.get('/hello', (req, res) => {
  res.type('text/plain').send(HELLO);
});
// The document is serialised once (payloads.mjs), so the row measures the server, not JSON.stringify.
app.get('/json', (req, res) => {
  res.type(JSON_TYPE).send(JSON_BODY);
});

export default app;
