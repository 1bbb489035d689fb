/**
 * Real Node frameworks on tsgi through fromNodeHandler: Express 5 (on every backend) and Express 4
 * with the middleware people put in front of them (body-parser, cookie-parser, express.static,
 * multer, compression, helmet, cors, express-session), Koa 3 and connect. Nothing is faked: the
 * packages are the ones from npm, the clients are fetch and raw sockets.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { constants as zlibConstants, gunzipSync } from 'node:zlib';
import bodyParser from 'body-parser';
import compression from 'compression';
import connect from 'connect';
import cookieParser from 'cookie-parser';
import cors from 'cors';
import express from 'express';
import session from 'express-session';
import helmet from 'helmet';
import Koa from 'koa';
import multer from 'multer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: express@4 under an npm alias, without type declarations of its own
import express4Untyped from 'express4';
import { fromNodeHandler } from '../src/index.js';
import { describeBackends, startServer, type BackendName, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

/** Express 4's API is the part of Express 5's these apps use. */
const express4 = express4Untyped as typeof express;

const staticDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'node-static');
const helloText = fs.readFileSync(path.join(staticDir, 'hello.txt'), 'utf8');

let uploadDir: string;
beforeAll(() => {
  uploadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsgi-multer-'));
});
afterAll(() => fs.rmSync(uploadDir, { recursive: true, force: true }));

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `name=value` pairs of Set-Cookie headers, as a Cookie header sends them back. */
function cookieHeader(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');
}

/** A body of compressible text, as large as `lines` lines. */
function textOf(lines: number): string {
  return Array.from({ length: lines }, (_, n) => `line ${n}: the quick brown fox jumps over the lazy dog\n`).join('');
}

/** Lets /compressed-events send its second event (set while it waits). */
let eventRelease: (() => void) | null = null;

/**
 * The complete chunks of a chunked body received so far (a response still streaming). uWS sends
 * a chunk's closing CRLF only with the next chunk, so a chunk counts once its data is in.
 */
function chunksSoFar(afterHead: Buffer): Buffer {
  const parts: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const lineEnd = afterHead.indexOf('\r\n', pos);
    if (lineEnd === -1) break;
    const size = parseInt(afterHead.subarray(pos, lineEnd).toString('latin1'), 16);
    if (size === 0 || afterHead.length < lineEnd + 2 + size) break;
    parts.push(afterHead.subarray(lineEnd + 2, lineEnd + 2 + size));
    pos = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

/** What a gzip stream received so far decodes to. */
function gunzipSoFar(data: Buffer): string {
  return gunzipSync(data, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString();
}

/** The same app on Express 5 and on Express 4: routes and middleware the battery exercises. */
function expressApp(lib: typeof express): express.Express {
  const app = lib();
  const upload = multer({ dest: uploadDir });
  app.use(cookieParser('cookie secret'));

  app.post('/json', lib.json({ limit: '1kb' }), (req, res) => {
    res.json({ received: req.body });
  });
  app.post('/form', lib.urlencoded({ extended: false }), (req, res) => {
    res.json(req.body);
  });
  app.post('/body-parser', bodyParser.json({ limit: '100b' }), bodyParser.text(), (req, res) => {
    res.json({ received: req.body });
  });
  app.post('/text', bodyParser.text({ limit: '2mb' }), (req, res) => {
    res.send(`${(req.body as string).length} ${sha256(req.body as string)}`);
  });

  app.get('/cookies/set', (_req, res) => {
    res.cookie('plain', 'visible');
    res.cookie('signed', 'tamper-proof', { signed: true, httpOnly: true });
    res.send('cookies set');
  });
  app.get('/cookies/read', (req, res) => {
    res.json({ cookies: req.cookies, signed: req.signedCookies });
  });

  app.use('/static', lib.static(staticDir));
  app.get('/send-file', (_req, res) => res.sendFile(path.join(staticDir, 'hello.txt')));
  app.get('/download', (_req, res) => res.download(path.join(staticDir, 'report.txt'), 'numbers.txt'));
  app.get('/redirect', (_req, res) => res.redirect('/target'));
  app.get('/redirect-permanent', (_req, res) => res.redirect(301, '/elsewhere'));
  app.get('/json-answer', (_req, res) => res.status(201).json({ ok: true, list: [1, 2, 3] }));

  app.post('/upload', upload.fields([{ name: 'file', maxCount: 1 }, { name: 'more', maxCount: 2 }]), (req, res) => {
    const files = req.files as Record<string, Express.Multer.File[]>;
    const describe = (file: Express.Multer.File) => ({
      field: file.fieldname,
      name: file.originalname,
      type: file.mimetype,
      size: file.size,
      sha: sha256(fs.readFileSync(file.path)),
      stored: path.dirname(file.path) === uploadDir,
    });
    res.json({ fields: req.body, file: files.file!.map(describe), more: (files.more ?? []).map(describe) });
  });

  app.get('/compressed', compression({ threshold: 0 }), (_req, res) => {
    res.type('text/plain').send(textOf(200));
  });
  app.get('/compressed-stream', compression(), (_req, res) => {
    res.type('text/plain');
    let n = 0;
    const next = (): void => {
      if (++n > 20) {
        res.end();
        return;
      }
      res.write(textOf(50));
      setImmediate(next);
    };
    next();
  });

  // Server-sent events through compression: res.flush() pushes each event out compressed.
  app.get('/compressed-events', compression(), async (_req, res) => {
    res.type('text/event-stream');
    res.write('data: first\n\n');
    res.flush();
    await new Promise<void>((resolve) => (eventRelease = resolve));
    res.end('data: second\n\n');
  });

  app.get('/helmet', helmet(), (_req, res) => res.send('helmeted'));

  const corsOptions = { origin: 'https://app.example', credentials: true, methods: ['GET', 'PUT'], maxAge: 600 };
  app.options('/cors', cors(corsOptions));
  app.put('/cors', cors(corsOptions), (_req, res) => res.send('cors put'));
  app.get('/cors', cors(corsOptions), (_req, res) => res.send('cors get'));

  app.use(
    '/session',
    session({ secret: 'session secret', resave: false, saveUninitialized: false, store: new session.MemoryStore() }),
  );
  app.get('/session/count', (req, res) => {
    const data = req.session as unknown as { count?: number };
    data.count = (data.count ?? 0) + 1;
    res.json({ count: data.count });
  });

  app.get('/fails-after-send', (_req, res) => {
    res.send('sent before the error');
    throw new Error('raised after the response was sent');
  });
  app.get('/fails', () => {
    throw new Error('a route failed on purpose');
  });
  app.get('/fails-handled', () => {
    throw Object.assign(new Error('handled by the app'), { handled: true });
  });
  // Error-handling middleware: the app's own answer for the errors it knows, finalhandler's for the rest.
  app.use((error: Error & { handled?: boolean }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!error.handled) return next(error);
    res.status(500).json({ error: error.message });
  });
  return app;
}

/** The checks every Express version passes, against a server at `url()`. */
function expressSuite(url: () => string, port: () => number): void {
  it('parses JSON and urlencoded bodies, and answers 413 past the limit', async () => {
    const json = await fetch(`${url()}/json`, { method: 'POST', body: JSON.stringify({ a: [1, 2] }), headers: { 'content-type': 'application/json' } });
    expect(await json.json()).toEqual({ received: { a: [1, 2] } });
    const form = await fetch(`${url()}/form`, { method: 'POST', body: new URLSearchParams({ name: 'tsgi', kind: 'gateway' }) });
    expect(await form.json()).toEqual({ name: 'tsgi', kind: 'gateway' });
    const tooLarge = await fetch(`${url()}/json`, { method: 'POST', body: JSON.stringify({ pad: 'x'.repeat(2048) }), headers: { 'content-type': 'application/json' } });
    expect(tooLarge.status).toBe(413);
    const viaBodyParser = await fetch(`${url()}/body-parser`, { method: 'POST', body: JSON.stringify({ pad: 'y'.repeat(200) }), headers: { 'content-type': 'application/json' } });
    expect(viaBodyParser.status).toBe(413);
    const text = textOf(20_000);
    const big = await fetch(`${url()}/text`, { method: 'POST', body: text, headers: { 'content-type': 'text/plain' } });
    expect(await big.text()).toBe(`${text.length} ${sha256(text)}`);
  });

  it('sets and reads plain and signed cookies (cookie-parser)', async () => {
    const set = await fetch(`${url()}/cookies/set`);
    const cookies = set.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    expect(cookies[1]).toMatch(/^signed=s%3Atamper-proof\.[^;]+; Path=\/; HttpOnly$/);
    const read = await fetch(`${url()}/cookies/read`, { headers: { cookie: cookieHeader(set) } });
    expect(await read.json()).toEqual({ cookies: { plain: 'visible' }, signed: { signed: 'tamper-proof' } });
    const forged = await fetch(`${url()}/cookies/read`, { headers: { cookie: 'signed=s%3Aforged.invalidsignature' } });
    expect(await forged.json()).toEqual({ cookies: {}, signed: { signed: false } });
  });

  it('serves static files with ranges, ETags (304) and HEAD (express.static)', async () => {
    const whole = await fetch(`${url()}/static/hello.txt`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')?.toLowerCase()).toBe('text/plain; charset=utf-8');
    expect(await whole.text()).toBe(helloText);
    const etag = whole.headers.get('etag')!;
    expect(etag).toBeTruthy();
    // fetch adds Cache-Control: no-cache to a conditional request, which bars a 304: a raw one.
    const revalidate = await RawConn.open(port());
    revalidate.write(`GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`);
    const notModified = await revalidate.read();
    expect(notModified.status).toBe(304);
    expect(notModified.header('etag')).toEqual([etag]);
    revalidate.write('GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await revalidate.read()).body.toString()).toBe(helloText);
    revalidate.destroy();
    const range = await fetch(`${url()}/static/hello.txt`, { headers: { range: 'bytes=6-9' } });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe(`bytes 6-9/${helloText.length}`);
    expect(await range.text()).toBe(helloText.slice(6, 10));
    expect((await fetch(`${url()}/static/hello.txt`, { headers: { range: 'bytes=900-' } })).status).toBe(416);
    const index = await fetch(`${url()}/static/`);
    expect(await index.text()).toContain('the index page');
    // HEAD: the whole head, Content-Length included, and no body on a connection that goes on.
    const conn = await RawConn.open(port());
    conn.write('HEAD /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = await conn.read({ head: true });
    expect(head.status).toBe(200);
    expect(head.header('content-length')).toEqual([String(helloText.length)]);
    conn.write('GET /static/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await conn.read()).body.toString()).toBe(helloText);
    conn.destroy();
  });

  it('sends files, downloads, redirects and JSON (res.sendFile, res.download, res.redirect, res.json)', async () => {
    const sent = await fetch(`${url()}/send-file`);
    expect(sent.headers.get('content-type')?.toLowerCase()).toBe('text/plain; charset=utf-8');
    expect(await sent.text()).toBe(helloText);
    const download = await fetch(`${url()}/download`);
    // Express 4 quotes the name, Express 5 leaves a token bare.
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="?numbers\.txt"?$/);
    expect(await download.text()).toBe('quarterly numbers: 1, 2, 3\n');
    const redirect = await fetch(`${url()}/redirect`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/target']);
    const permanent = await fetch(`${url()}/redirect-permanent`, { redirect: 'manual' });
    expect([permanent.status, permanent.headers.get('location')]).toEqual([301, '/elsewhere']);
    const json = await fetch(`${url()}/json-answer`);
    expect(json.status).toBe(201);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.json()).toEqual({ ok: true, list: [1, 2, 3] });
  });

  it('takes a multipart upload of files and fields (multer), written intact to disk', async () => {
    const contents = randomBytes(1024 * 1024 + 5);
    const form = new FormData();
    form.set('title', 'quarterly');
    form.set('tags', 'a,b');
    form.set('file', new File([contents], 'payload.bin', { type: 'application/octet-stream' }));
    form.append('more', new File(['first extra'], 'one.txt', { type: 'text/plain' }));
    form.append('more', new File(['second extra'], 'two.txt', { type: 'text/plain' }));
    const response = await fetch(`${url()}/upload`, { method: 'POST', body: form });
    expect(response.status).toBe(200);
    const result = (await response.json()) as { fields: unknown; file: unknown; more: Array<{ name: string; sha: string }> };
    expect(result.fields).toEqual({ title: 'quarterly', tags: 'a,b' });
    expect(result.file).toEqual([
      { field: 'file', name: 'payload.bin', type: 'application/octet-stream', size: contents.byteLength, sha: sha256(contents), stored: true },
    ]);
    expect(result.more.map((file) => [file.name, file.sha])).toEqual([
      ['one.txt', sha256('first extra')],
      ['two.txt', sha256('second extra')],
    ]);
  });

  it('compresses a whole and a streamed response when gzip is accepted (compression)', async () => {
    for (const [target, expected] of [
      ['/compressed', textOf(200)],
      ['/compressed-stream', textOf(50).repeat(20)],
    ] as const) {
      const conn = await RawConn.open(port());
      conn.write(`GET ${target} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n`);
      const response = await conn.read();
      conn.destroy();
      expect(response.header('content-encoding')).toEqual(['gzip']);
      expect(response.header('vary')).toEqual(['Accept-Encoding']);
      expect(response.body.byteLength).toBeLessThan(expected.length / 4);
      expect(gunzipSync(response.body).toString()).toBe(expected);
    }
    // Each flushed event reaches the client before the next exists.
    const conn = await RawConn.open(port());
    conn.write('GET /compressed-events HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n');
    const firstEvent = () => {
      const text = conn.pending();
      const headEnd = text.indexOf('\r\n\r\n');
      if (headEnd === -1) return '';
      const body = chunksSoFar(text.subarray(headEnd + 4));
      return body.byteLength === 0 ? '' : gunzipSoFar(body);
    };
    await conn.waitFor(() => firstEvent() === 'data: first\n\n');
    expect(conn.pending().toString('latin1').toLowerCase()).toContain('content-encoding: gzip');
    eventRelease!();
    const events = await conn.read();
    conn.destroy();
    expect(gunzipSync(events.body).toString()).toBe('data: first\n\ndata: second\n\n');
    // Without Accept-Encoding the same routes answer plainly.
    const plain = await fetch(`${url()}/compressed-stream`, { headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(textOf(50).repeat(20));
  });

  it('answers CORS preflights and decorates simple requests (cors)', async () => {
    const preflight = await fetch(`${url()}/cors`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('GET,PUT');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('x-custom');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
    const simple = await fetch(`${url()}/cors`, { headers: { origin: 'https://app.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(simple.headers.get('vary')).toBe('Origin');
    expect(await simple.text()).toBe('cors get');
  });

  it('keeps a session across requests through its cookie (express-session, MemoryStore)', async () => {
    const first = await fetch(`${url()}/session/count`);
    expect(await first.json()).toEqual({ count: 1 });
    const cookie = cookieHeader(first);
    expect(cookie).toMatch(/^connect\.sid=s%3A/);
    expect(await (await fetch(`${url()}/session/count`, { headers: { cookie } })).json()).toEqual({ count: 2 });
    expect(await (await fetch(`${url()}/session/count`, { headers: { cookie } })).json()).toEqual({ count: 3 });
    // A request without the cookie starts another session.
    expect(await (await fetch(`${url()}/session/count`)).json()).toEqual({ count: 1 });
  });

  it("answers errors through the app's error middleware and Express's finalhandler (500, 404)", async () => {
    const handled = await fetch(`${url()}/fails-handled`);
    expect(handled.status).toBe(500);
    expect(await handled.json()).toEqual({ error: 'handled by the app' });
    const unhandled = await fetch(`${url()}/fails`);
    expect(unhandled.status).toBe(500);
    expect(unhandled.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await unhandled.text()).toContain('a route failed on purpose');
    // After res.send() finalhandler can only close the connection; the response is whole.
    const afterSend = await fetch(`${url()}/fails-after-send`);
    expect([afterSend.status, await afterSend.text()]).toEqual([200, 'sent before the error']);
    const missing = await fetch(`${url()}/nothing/here`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cannot GET /nothing/here');
  });
}

/** The frameworks answer their own errors: nothing may reach tsgi's error log. */
function noServerErrors(server: () => TestServer): void {
  afterEach(() => {
    expect(server().errors).toEqual([]);
  });
}

/** Express's finalhandler writes the errors it answers to stderr; the suite does not need to see them. */
function quietErrors(): void {
  const original = console.error;
  beforeAll(() => {
    console.error = () => {};
  });
  afterAll(() => {
    console.error = original;
  });
}

describeBackends('Express 5 on %s', (backend: BackendName) => {
  let server: TestServer;
  quietErrors();
  beforeAll(async () => {
    const app = expressApp(express);
    app.get('/helmet-check', (_req, res) => res.send('no helmet here'));
    app.get('/async-fails', async () => {
      await Promise.resolve();
      throw new Error('an async route rejected');
    });
    server = await startServer(fromNodeHandler(app), backend);
  });
  afterAll(() => server.close());
  noServerErrors(() => server);
  expressSuite(
    () => server.url,
    () => server.port,
  );

  it("sets helmet's headers", async () => {
    const response = await fetch(`${server.url}/helmet`);
    expect(await response.text()).toBe('helmeted');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('x-powered-by')).toBeNull();
    // Only where it is used.
    expect((await fetch(`${server.url}/helmet-check`)).headers.get('x-powered-by')).toBe('Express');
  });

  it('turns a rejected async route into a 500 (Express 5)', async () => {
    const response = await fetch(`${server.url}/async-fails`);
    expect(response.status).toBe(500);
    expect(await response.text()).toContain('an async route rejected');
  });
});

describe('Express 4', () => {
  let server: TestServer;
  quietErrors();
  beforeAll(async () => {
    server = await startServer(fromNodeHandler(expressApp(express4)), 'llhttp');
  });
  afterAll(() => server.close());
  it('is Express 4', () => {
    expect(JSON.parse(fs.readFileSync(new URL('../node_modules/express4/package.json', import.meta.url), 'utf8')).version).toMatch(/^4\./);
  });
  expressSuite(
    () => server.url,
    () => server.port,
  );
});

describe('Koa 3', () => {
  let server: TestServer;
  beforeAll(async () => {
    const app = new Koa({ keys: ['koa signing key'] });
    app.silent = true;
    app.use(async (ctx, next) => {
      const started = ctx.state as { order?: string[] };
      started.order = ['outer in'];
      await next();
      ctx.set('X-Order', [...started.order, 'outer out'].join(','));
    });
    app.use(async (ctx) => {
      switch (ctx.path) {
        case '/text':
          ctx.body = 'hello from koa';
          return;
        case '/json':
          ctx.status = 201;
          ctx.body = { path: ctx.path, query: ctx.query, method: ctx.method, ip: ctx.ip };
          return;
        case '/stream':
          ctx.type = 'text/plain';
          ctx.body = Readable.from(['streamed ', 'in ', 'parts']);
          return;
        case '/file':
          ctx.type = 'text/plain';
          ctx.body = fs.createReadStream(path.join(staticDir, 'hello.txt'));
          return;
        case '/echo': {
          const chunks: Buffer[] = [];
          for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
          ctx.body = { length: Buffer.concat(chunks).byteLength, type: ctx.request.type };
          return;
        }
        case '/cookies/set':
          ctx.cookies.set('plain', 'koa-visible', { signed: false });
          ctx.cookies.set('signed', 'koa-signed', { signed: true });
          ctx.body = 'set';
          return;
        case '/cookies/read':
          ctx.body = { plain: ctx.cookies.get('plain', { signed: false }) ?? null, signed: ctx.cookies.get('signed', { signed: true }) ?? null };
          return;
        case '/forbidden':
          ctx.throw(403, 'no entry for you');
          return;
        case '/crash':
          throw new Error('koa handler crashed');
        case '/empty':
          ctx.status = 204;
          return;
        default:
          ctx.status = 404;
      }
    });
    server = await startServer(fromNodeHandler(app), 'llhttp');
  });
  afterAll(() => server.close());
  noServerErrors(() => server);

  it('answers strings, JSON and streams (ctx.body)', async () => {
    const text = await fetch(`${server.url}/text`);
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('content-length')).toBe('14');
    expect(text.headers.get('x-order')).toBe('outer in,outer out');
    expect(await text.text()).toBe('hello from koa');
    const json = await fetch(`${server.url}/json?a=1`);
    expect(json.status).toBe(201);
    expect(await json.json()).toEqual({ path: '/json', query: { a: '1' }, method: 'GET', ip: '127.0.0.1' });
    expect(await (await fetch(`${server.url}/stream`)).text()).toBe('streamed in parts');
    expect(await (await fetch(`${server.url}/file`)).text()).toBe(helloText);
    expect((await fetch(`${server.url}/empty`)).status).toBe(204);
    expect((await fetch(`${server.url}/nowhere`)).status).toBe(404);
  });

  it('reads the request body from ctx.req', async () => {
    const body = randomBytes(300_000);
    const response = await fetch(`${server.url}/echo`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
    expect(await response.json()).toEqual({ length: body.byteLength, type: 'application/octet-stream' });
  });

  it('sets and verifies signed cookies (ctx.cookies)', async () => {
    const set = await fetch(`${server.url}/cookies/set`);
    // The signed cookie brings its signature along: three cookies.
    expect(set.headers.getSetCookie().map((line) => line.split('=')[0])).toEqual(['plain', 'signed', 'signed.sig']);
    const read = await fetch(`${server.url}/cookies/read`, { headers: { cookie: cookieHeader(set) } });
    expect(await read.json()).toEqual({ plain: 'koa-visible', signed: 'koa-signed' });
    const forged = await fetch(`${server.url}/cookies/read`, { headers: { cookie: 'signed=forged; signed.sig=nope' } });
    expect(await forged.json()).toEqual({ plain: null, signed: null });
  });

  it('answers ctx.throw with its status and message, and a crash with 500', async () => {
    const forbidden = await fetch(`${server.url}/forbidden`);
    expect(forbidden.status).toBe(403);
    expect(await forbidden.text()).toBe('no entry for you');
    const crash = await fetch(`${server.url}/crash`);
    expect(crash.status).toBe(500);
    expect(await crash.text()).toBe('Internal Server Error');
  });
});

describe('connect', () => {
  let server: TestServer;
  quietErrors();
  beforeAll(async () => {
    const app = connect();
    // cookie-parser's types speak of Express requests; at run time it takes any IncomingMessage.
    app.use(cookieParser() as unknown as connect.NextHandleFunction);
    app.use('/json', bodyParser.json());
    app.use('/json', (req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ body: (req as unknown as { body: unknown }).body, url: req.url, originalUrl: (req as unknown as { originalUrl: string }).originalUrl }));
    });
    app.use('/cookies', (req, res) => {
      res.end(JSON.stringify((req as unknown as { cookies: unknown }).cookies));
    });
    app.use('/fails', () => {
      throw new Error('connect middleware failed');
    });
    app.use((error: Error, _req: connect.IncomingMessage, res: import('node:http').ServerResponse, next: connect.NextFunction) => {
      if (error.message !== 'connect middleware failed') return next(error);
      res.statusCode = 502;
      res.end(`handled: ${error.message}`);
    });
    server = await startServer(fromNodeHandler(app), 'llhttp');
  });
  afterAll(() => server.close());
  noServerErrors(() => server);

  it('routes by prefix through its middleware stack', async () => {
    const json = await fetch(`${server.url}/json/deeper?x=1`, { method: 'POST', body: JSON.stringify({ n: 1 }), headers: { 'content-type': 'application/json' } });
    expect(await json.json()).toEqual({ body: { n: 1 }, url: '/deeper?x=1', originalUrl: '/json/deeper?x=1' });
    const cookies = await fetch(`${server.url}/cookies`, { headers: { cookie: 'a=1; b=two' } });
    expect(await cookies.json()).toEqual({ a: '1', b: 'two' });
  });

  it('answers errors through error middleware, and 404 through finalhandler', async () => {
    const failed = await fetch(`${server.url}/fails`);
    expect([failed.status, await failed.text()]).toEqual([502, 'handled: connect middleware failed']);
    const missing = await fetch(`${server.url}/missing`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain('Cannot GET /missing');
  });
});
