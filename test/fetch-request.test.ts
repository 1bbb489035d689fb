/**
 * What a fetch handler can observe of the lazy Request and of tsgi's Response (fromFetch): the
 * same as with the standard classes — instanceof, method, URL, headers and their changes, every
 * way of reading the body, clone(), the request as input to `new Request()`, the abort signal —
 * and what reaches the client: lengths, header lists, HEAD. Real servers, real clients.
 */
import net from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { FetchRequest, standardRequestOf } from '../src/bridges/from-fetch/request.js';
import { StandardResponse } from '../src/bridges/from-fetch/response.js';
import { fromFetch, type FetchFunction } from '../src/index.js';
import { describeBackends, startServer, type BackendName, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

/** A handler that answers with JSON of what `look(request)` saw. */
function observe(look: (request: Request) => unknown): FetchFunction {
  return async (request) => Response.json(await look(request));
}

function rawGet(port: number, target: string, headers: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(`GET ${target} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
  });
}

function bodyOf(rawResponse: string): string {
  return rawResponse.slice(rawResponse.indexOf('\r\n\r\n') + 4);
}

describeBackends('the lazy Request on %s', (backend: BackendName) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });
  const start = async (handler: FetchFunction) => {
    server = await startServer(fromFetch(handler), backend);
    return server;
  };

  it('is a Request with the method, URL (path, query, Host) and headers the client sent', async () => {
    const { url, port } = await start(
      observe((request) => ({
        isRequest: request instanceof Request,
        tag: Object.prototype.toString.call(request),
        method: request.method,
        url: request.url,
        headersAreHeaders: request.headers instanceof Headers,
        host: request.headers.get('host'),
        custom: request.headers.get('X-Custom'),
        hasCustom: request.headers.has('x-custom'),
        missing: request.headers.get('x-missing'),
        hasMissing: request.headers.has('x-missing'),
        sameHeaders: request.headers === request.headers,
        copied: new Headers(request.headers).get('x-custom'),
        body: request.body,
        bodyUsed: request.bodyUsed,
      })),
    );
    const seen = await (await fetch(`${url}/a/b?x=1&y=%20z`, { headers: { 'x-custom': 'one' } })).json();
    expect(seen).toEqual({
      isRequest: true,
      tag: '[object Request]',
      method: 'GET',
      url: `http://127.0.0.1:${port}/a/b?x=1&y=%20z`,
      headersAreHeaders: true,
      host: `127.0.0.1:${port}`,
      custom: 'one',
      hasCustom: true,
      missing: null,
      hasMissing: false,
      sameHeaders: true,
      copied: 'one',
      body: null,
      bodyUsed: false,
    });
  });

  it('gives the URL a standard Request would, for unusual targets and hosts too', async () => {
    const { port } = await start((request) => new Response(request.url));
    const cases: Array<[target: string, host: string]> = [
      ['/plain', 'example.com'],
      ['/a/../b/./c', 'example.com'],
      ['/%2e%2E/x', 'example.com'],
      ["/q?it's=a|b&c={d}", 'example.com'],
      ['/~user/file.txt;v=1', 'Example.COM'],
      ['/', 'example.com:80'],
      ['/p', 'example.com:08080'],
      ['/p', '127.1'],
      ['/p', 'host.example.'],
      ['/p', '[::1]:8080'],
      ['/caf%C3%A9?%zz', 'example.com:8080'],
    ];
    for (const [target, host] of cases) {
      const seen = bodyOf(await rawGet(port, target, `Host: ${host}\r\n`));
      expect(seen, `${host} ${target}`).toBe(new URL(`http://${host}${target}`).href);
    }
  });

  it('answers 400 when the Host makes no URL', async () => {
    const { port } = await start((request) => new Response(request.url));
    const answer = await rawGet(port, '/p', 'Host: example.com:99999\r\n');
    expect(answer.startsWith('HTTP/1.1 400')).toBe(true);
    expect(bodyOf(answer)).toContain('Host');
  });

  it('combines repeated headers and iterates them as a standard Headers does', async () => {
    const { port } = await start(
      observe((request) => {
        let badName = '';
        try {
          request.headers.get('bad name');
        } catch (error) {
          badName = (error as Error).name;
        }
        return {
          dup: request.headers.get('x-dup'),
          cookie: request.headers.get('cookie'),
          list: [...request.headers].filter(([name]) => name.startsWith('x-') || name === 'cookie'),
          keys: [...request.headers.keys()].filter((name) => name.startsWith('x-')),
          badName,
        };
      }),
    );
    const seen = JSON.parse(bodyOf(await rawGet(port, '/', 'Host: x\r\nX-Dup: a\r\nCookie: a=1\r\nX-Dup: b\r\nX-One: 1\r\nCookie: b=2\r\n')));
    const standard = new Headers([
      ['x-dup', 'a'],
      ['cookie', 'a=1'],
      ['x-dup', 'b'],
      ['x-one', '1'],
      ['cookie', 'b=2'],
    ]);
    expect(seen).toEqual({
      dup: standard.get('x-dup'),
      cookie: standard.get('cookie'),
      list: [...standard],
      keys: ['x-dup', 'x-one'],
      badName: 'TypeError',
    });
  });

  it('takes header changes, and hands them on to new Request(request)', async () => {
    const { url } = await start(
      observe((request) => {
        const headers = request.headers;
        headers.set('x-added', 'yes');
        headers.delete('x-gone');
        const copy = new Request(request);
        headers.set('x-later', 'also');
        return {
          added: request.headers.get('x-added'),
          gone: request.headers.get('x-gone'),
          copyAdded: copy.headers.get('x-added'),
          copyGone: copy.headers.get('x-gone'),
          copyUrl: copy.url,
          copyMethod: copy.method,
          later: request.headers.get('x-later'),
          sameHeaders: request.headers === headers,
        };
      }),
    );
    const seen = await (await fetch(`${url}/copy?q=1`, { headers: { 'x-gone': 'soon' } })).json();
    expect(seen).toEqual({
      added: 'yes',
      gone: null,
      copyAdded: 'yes',
      copyGone: null,
      copyUrl: `${url}/copy?q=1`,
      copyMethod: 'GET',
      later: 'also',
      sameHeaders: true,
    });
  });

  it('reads a POST body with text(), json(), arrayBuffer(), bytes(), blob() and formData()', async () => {
    const { url } = await start(async (request) => {
      const how = new URL(request.url).pathname.slice(1);
      if (how === 'text') return new Response(await request.text());
      if (how === 'json') return Response.json({ parsed: await request.json() });
      if (how === 'arrayBuffer') return new Response(String((await request.arrayBuffer()).byteLength));
      if (how === 'bytes') {
        const bytes = await (request as Request & { bytes(): Promise<Uint8Array> }).bytes();
        return new Response(`${bytes.constructor.name}:${bytes.byteLength}`);
      }
      if (how === 'blob') {
        const blob = await request.blob();
        return new Response(`${blob.type}:${await blob.text()}`);
      }
      const form = await request.formData();
      return Response.json({ a: form.get('a'), b: form.getAll('b') });
    });
    const post = (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) => fetch(`${url}/${path}`, { method: 'POST', body, headers });
    expect(await (await post('text', '\uFEFFhéllo')).text()).toBe('héllo');
    expect(await (await post('json', '{"n":[1,2]}')).json()).toEqual({ parsed: { n: [1, 2] } });
    expect(await (await post('arrayBuffer', new Uint8Array(70_000))).text()).toBe('70000');
    expect(await (await post('bytes', 'four')).text()).toBe('Uint8Array:4');
    expect(await (await post('blob', 'blob body', { 'content-type': 'text/x-blob' })).text()).toBe('text/x-blob:blob body');
    expect(await (await post('form', new URLSearchParams([['a', '1'], ['b', '2'], ['b', '3']]))).json()).toEqual({ a: '1', b: ['2', '3'] });
    const multipart = new FormData();
    multipart.set('a', 'x');
    multipart.append('b', new File(['file'], 'f.txt'));
    const files = (await (await post('form', multipart)).json()) as { a: string };
    expect(files.a).toBe('x');
  });

  it('lets clone() read the body twice, and refuses a body read once', async () => {
    const { url } = await start(
      observe(async (request) => {
        const copy = request.clone();
        const [first, second] = await Promise.all([request.text(), copy.text()]);
        const again = await request.text().then(
          () => 'read again',
          (error: Error) => error.name,
        );
        return { first, second, again, used: request.bodyUsed, copyIsRequest: copy instanceof Request };
      }),
    );
    const seen = await (await fetch(url, { method: 'POST', body: 'twice' })).json();
    expect(seen).toEqual({ first: 'twice', second: 'twice', again: 'TypeError', used: true, copyIsRequest: true });
  });

  it('marks a body read whole as used: clone(), new Request(request) and a second read refuse it', async () => {
    const { url } = await start(
      observe(async (request) => {
        const text = await request.text();
        const refusals: string[] = [];
        for (const attempt of [() => request.clone(), () => new Request(request)]) {
          try {
            attempt();
            refusals.push('accepted');
          } catch (error) {
            refusals.push((error as Error).name);
          }
        }
        refusals.push(await request.json().then(() => 'accepted', (error: Error) => error.name));
        return { text, used: request.bodyUsed, streamLocked: request.body?.locked, refusals };
      }),
    );
    const seen = await (await fetch(url, { method: 'PUT', body: 'once' })).json();
    expect(seen).toEqual({ text: 'once', used: true, streamLocked: true, refusals: ['TypeError', 'TypeError', 'TypeError'] });
  });

  it('streams the body through request.body, the same stream each time, used once read', async () => {
    const { url } = await start(
      observe(async (request) => {
        const stream = request.body!;
        const same = request.body === stream;
        const before = request.bodyUsed;
        let size = 0;
        for await (const chunk of stream) size += chunk.byteLength;
        return { same, before, after: request.bodyUsed, size };
      }),
    );
    const seen = await (await fetch(url, { method: 'POST', body: new Uint8Array(300_000) })).json();
    expect(seen).toEqual({ same: true, before: false, after: true, size: 300_000 });
  });

  it('goes whole into new Request(request): method, URL, headers and the body stream', async () => {
    const { url } = await start(
      observe(async (request) => {
        const copy = new Request(request);
        return {
          isRequest: copy instanceof Request,
          method: copy.method,
          url: copy.url,
          type: copy.headers.get('content-type'),
          body: await copy.text(),
          originalUsed: request.bodyUsed,
          mode: request.mode,
          cache: request.cache,
        };
      }),
    );
    const seen = await (await fetch(`${url}/forward?x=y`, { method: 'PATCH', body: 'forwarded', headers: { 'content-type': 'text/x-forward' } })).json();
    const standard = new Request('http://localhost/');
    expect(seen).toEqual({
      isRequest: true,
      method: 'PATCH',
      url: `${url}/forward?x=y`,
      type: 'text/x-forward',
      body: 'forwarded',
      originalUsed: true,
      mode: standard.mode,
      cache: standard.cache,
    });
  });

  it('makes a standard Request with the same parts (what handlers get where lazy ones cannot work)', async () => {
    const { url } = await start(
      observe(async (request) => {
        // Where lazy requests cannot work (Node 24's undici), the handler has the standard one.
        const standardOf = (given: Request): Request => (given instanceof FetchRequest ? standardRequestOf(given) : given);
        const standard = standardOf(request);
        return {
          isStandard: Object.getPrototypeOf(standard) === Request.prototype,
          same: standard === standardOf(request),
          method: standard.method,
          url: standard.url,
          header: standard.headers.get('x-part'),
          body: await standard.text(),
          lazyUsed: request.bodyUsed,
        };
      }),
    );
    const seen = await (await fetch(`${url}/parts?q`, { method: 'POST', body: 'standard body', headers: { 'x-part': 'p' } })).json();
    expect(seen).toEqual({ isStandard: true, same: true, method: 'POST', url: `${url}/parts?q`, header: 'p', body: 'standard body', lazyUsed: true });
  });

  it('prints as a Request in util.inspect', async () => {
    const { url } = await start((request) => new Response(inspect(request)));
    const text = await (await fetch(`${url}/shown`)).text();
    expect(text).toContain('Request');
    expect(text).toContain('/shown');
  });

  it('aborts request.signal when the client leaves before the response', async () => {
    let reason!: (text: string) => void;
    const aborted = new Promise<string>((resolve) => (reason = resolve));
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { port } = await start(async (request) => {
      const signal = request.signal;
      started();
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      reason(`${signal.aborted} ${(signal.reason as Error).name}`);
      return new Response('too late');
    });
    const conn = await RawConn.open(port);
    conn.write('GET /wait HTTP/1.1\r\nHost: x\r\n\r\n');
    await handlerStarted;
    conn.destroy();
    expect(await aborted).toBe('true ClientGoneError');
  });

  it('aborts request.signal when the client leaves in the middle of the request body', async () => {
    let outcome!: (text: string) => void;
    const seen = new Promise<string>((resolve) => (outcome = resolve));
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const { port } = await start(async (request) => {
      const signal = request.signal;
      started();
      const read = await request.text().then(
        () => 'complete',
        (error: Error) => error.name,
      );
      outcome(`${read} ${signal.aborted}`);
      return new Response('never sent');
    });
    const conn = await RawConn.open(port);
    conn.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial');
    await handlerStarted;
    conn.destroy();
    expect(await seen).toBe('ClientGoneError true');
  });

  it('leaves request.signal alone once the response is complete', async () => {
    const signals: AbortSignal[] = [];
    const { url, port } = await start((request) => {
      signals.push(request.signal);
      return new Response('done');
    });
    expect(await (await fetch(url)).text()).toBe('done');
    const conn = await RawConn.open(port);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect((await conn.read()).body.toString()).toBe('done');
    conn.destroy();
    // Closing the server ends every connection: any abort would have happened by then.
    await server!.close();
    server = null;
    expect(signals.map((signal) => signal.aborted)).toEqual([false, false]);
  });
});

describe('the Response a fetch handler makes on tsgi', () => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('is a Response to every check, and behaves as one', async () => {
    fromFetch(() => new Response());
    const response = new Response('body text', { status: 201, statusText: 'Made', headers: { 'x-a': ' padded ' } });
    expect(response instanceof Response).toBe(true);
    expect(Object.prototype.toString.call(response)).toBe('[object Response]');
    expect([response.status, response.statusText, response.ok, response.type, response.redirected, response.url]).toEqual([201, 'Made', true, 'default', false, '']);
    expect(response.headers.get('x-a')).toBe('padded');
    expect(response.headers.get('content-type')).toBe('text/plain;charset=UTF-8');
    const copy = response.clone();
    expect(await copy.text()).toBe('body text');
    expect(response.bodyUsed).toBe(false);
    expect(await response.text()).toBe('body text');
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
    expect(() => new Response('x', { status: 99 })).toThrow(RangeError);
    expect(() => new Response('x', { status: 204 })).toThrow(TypeError);
    expect(await new Response(new Uint8Array([104, 105])).text()).toBe('hi');
    const streamed = new Response(new Blob(['blob'])).body!;
    expect(streamed instanceof ReadableStream).toBe(true);
    expect(await new Response(streamed).text()).toBe('blob');
    expect(await Response.json({ a: 1 }).json()).toEqual({ a: 1 });
    expect(Response.json({}).headers.get('content-type')).toBe('application/json');
    expect(Response.redirect('http://example.com/', 301).status).toBe(301);
    class Tagged extends Response {
      tag = 'mine';
    }
    const tagged = new Tagged('sub');
    expect([tagged instanceof Tagged, tagged instanceof Response, tagged.tag, await tagged.text()]).toEqual([true, true, 'mine', 'sub']);
    expect(new Response('plain') instanceof Tagged).toBe(false);
    const fromInit = new Response(null, response);
    expect([fromInit.status, fromInit.headers.get('x-a')]).toEqual([201, 'padded']);
    expect(inspect(new Response('shown'))).toContain('Response');
  });

  it('sends string, bytes, Blob and URLSearchParams bodies whole with their length and type', async () => {
    server = await startServer(
      fromFetch((request) => {
        const kind = new URL(request.url).pathname.slice(1);
        if (kind === 'bytes') return new Response(new Uint8Array([1, 2, 3]));
        if (kind === 'view') return new Response(new DataView(new Uint8Array([9, 8, 7, 6]).buffer, 1, 2));
        if (kind === 'buffer') return new Response(new Uint8Array([5, 5]).buffer);
        if (kind === 'blob') return new Response(new Blob(['blob!'], { type: 'text/x-blob' }));
        if (kind === 'params') return new Response(new URLSearchParams({ a: '1' }));
        if (kind === 'number') return new Response(42 as unknown as string);
        return new Response('héllo');
      }),
      'llhttp',
    );
    const expectations: Array<[string, string, string | null, string]> = [
      ['text', '6', 'text/plain;charset=UTF-8', 'héllo'],
      ['bytes', '3', null, '\x01\x02\x03'],
      ['view', '2', null, '\x08\x07'],
      ['buffer', '2', null, '\x05\x05'],
      ['blob', '5', 'text/x-blob', 'blob!'],
      ['params', '3', 'application/x-www-form-urlencoded;charset=UTF-8', 'a=1'],
      ['number', '2', 'text/plain;charset=UTF-8', '42'],
    ];
    for (const [kind, length, type, body] of expectations) {
      const conn = await RawConn.open(server.port);
      conn.write(`GET /${kind} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const response = await conn.read();
      conn.destroy();
      expect(response.header('content-length'), kind).toEqual([length]);
      expect(response.header('content-type'), kind).toEqual(type === null ? [] : [type]);
      expect(response.body.toString(kind === 'text' ? 'utf8' : 'latin1'), kind).toBe(body);
    }
  });

  it('sends headers from a Headers, pairs or a record: several Set-Cookie, no hop-by-hop fields', async () => {
    server = await startServer(
      fromFetch((request) => {
        const kind = new URL(request.url).pathname.slice(1);
        const cookies: [string, string][] = [
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
          ['connection', 'close'],
          ['x-kind', kind],
        ];
        if (kind === 'pairs') return new Response('x', { headers: cookies });
        if (kind === 'headers') return new Response('x', { headers: new Headers(cookies) });
        if (kind === 'changed') {
          const response = new Response('x', { headers: { 'x-kind': 'before' } });
          response.headers.set('x-kind', kind);
          response.headers.append('set-cookie', 'a=1');
          response.headers.append('set-cookie', 'b=2');
          return response;
        }
        return new Response('x', { headers: { 'Set-Cookie': 'a=1', 'X-Kind': kind, 'Transfer-Encoding': 'chunked' } });
      }),
      'llhttp',
    );
    for (const kind of ['pairs', 'headers', 'changed', 'record']) {
      const conn = await RawConn.open(server.port);
      conn.write(`GET /${kind} HTTP/1.1\r\nHost: x\r\n\r\n`);
      const response = await conn.read();
      conn.destroy();
      expect(response.header('set-cookie'), kind).toEqual(kind === 'record' ? ['a=1'] : ['a=1', 'b=2']);
      expect(response.header('x-kind'), kind).toEqual([kind]);
      expect(response.header('connection'), kind).not.toContain('close');
      expect(response.header('transfer-encoding'), kind).toEqual([]);
      expect(response.header('content-length'), kind).toEqual(['1']);
    }
  });

  it('answers HEAD with the length of the body it does not send', async () => {
    server = await startServer(fromFetch(() => new Response('twelve bytes')), 'llhttp');
    const conn = await RawConn.open(server.port);
    conn.write('HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const head = await conn.read({ head: true });
    expect(head.header('content-length')).toEqual(['12']);
    expect(head.body.byteLength).toBe(0);
    expect((await conn.read()).body.toString()).toBe('twelve bytes');
    conn.destroy();
  });

  it('gives a 500 for headers a Response cannot carry, naming them', async () => {
    server = await startServer(fromFetch(() => new Response('x', { headers: { 'bad name': 'v' } })), 'llhttp');
    expect((await fetch(server.url)).status).toBe(500);
    expect(server.errors.join('')).toContain('"bad name" is an invalid header name');
  });

  it('sends a standard Response through its body stream, with its length', async () => {
    const app = fromFetch(() => new StandardResponse('standard'), { fetchResponse: false });
    server = await startServer(app, 'llhttp');
    const conn = await RawConn.open(server.port);
    conn.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const response = await conn.read();
    conn.destroy();
    expect(response.header('content-length')).toEqual(['8']);
    expect(response.body.toString()).toBe('standard');
  });
});
