// An Express 5 app, unchanged, on tsgi: `npx tsgi examples/express.mjs` serves its default export
// (tsgi recognises an Express app as a Node request listener; a bare `(req, res)` function needs
// `--interface node`). Middleware, routing, cookies, static files and streaming are Express's own.
import { fileURLToPath } from 'node:url';
import express from 'express';

const app = express();

app.use(express.json());
app.use('/static', express.static(fileURLToPath(new URL('./public/', import.meta.url))));

app.get('/', (req, res) => res.type('text/plain').send('Hello from Express on tsgi!'));
app.get('/json', (req, res) => res.json({ ok: true, path: req.path, query: req.query.q ?? null, ip: req.ip }));
app.post('/echo', (req, res) => res.json({ received: req.body }));
app.get('/cookies', (req, res) => {
  res.cookie('a', '1');
  res.cookie('b', '2', { httpOnly: true });
  res.send('two cookies');
});
// A response written piece by piece: each line leaves as it is written.
app.get('/countdown', async (req, res) => {
  res.type('text/plain');
  for (let n = Number(req.query.from ?? 3); n > 0; n--) {
    res.write(`${n}\n`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  res.end('liftoff\n');
});

export default app;
