// A Hono app, unchanged, on tsgi: `npx tsgi examples/hono.mjs` serves its default export (an
// object with a fetch method, which tsgi recognises as a fetch handler).
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';

const app = new Hono();

app.get('/', (c) => c.text('Hello from Hono on tsgi!'));
app.get('/json', (c) => c.json({ ok: true, path: c.req.path, query: c.req.query('q') ?? null }));
app.post('/echo', async (c) => c.text(await c.req.text(), 200, { 'x-echo-type': c.req.header('content-type') ?? '' }));
app.post('/upload', async (c) => {
  const form = await c.req.parseBody();
  const file = form.file;
  return c.json({ name: form.name, file: file instanceof File ? { name: file.name, size: file.size, text: await file.text() } : null });
});
app.get('/cookies', (c) => {
  setCookie(c, 'a', '1', { path: '/' });
  setCookie(c, 'b', '2', { path: '/', httpOnly: true });
  return c.text('two cookies');
});
app.get('/events', (c) =>
  streamSSE(c, async (stream) => {
    const count = Number(c.req.query('count') ?? '3');
    for (let id = 1; id <= count; id++) {
      await stream.writeSSE({ id: String(id), event: 'tick', data: `tick ${id}` });
      await stream.sleep(Number(c.req.query('interval') ?? '10'));
    }
  }),
);

export default app;
