/**
 * The in-process TestClient (`tsgi/testing`): every behaviour a test author relies on, for both
 * interfaces. Each app is written once as a gateway app and once as an event app, and the same
 * expectations run against both (describe.each); what only one interface has is tested on its own.
 */
import { describe, expect, it } from 'vitest';
import { defineEventApp } from '../src/index.js';
import type { Environ, EventApp, GatewayApp, HttpScope, Scope, Send, StartResponse } from '../src/index.js';
import {
  ContractViolation,
  DisconnectedError,
  LifespanError,
  ProtocolError,
  TestClient,
  trailersOf,
  WebSocketClosed,
  WebSocketRefused,
} from '../src/testing/index.js';
import { KINDS, readAll, Signal, text, upload } from './in-process-helpers.js';

interface Pair {
  gateway: GatewayApp;
  event: EventApp;
}





function header(scope: HttpScope, name: string): string | null {
  const values = scope.headers.filter(([key]) => key === name).map(([, value]) => value);
  return values.length === 0 ? null : values.join(', ');
}

async function sendJson(send: Send, value: unknown, status = 200, headers: [string, string][] = []): Promise<void> {
  await send({ type: 'http.response.start', status, headers: [['content-type', 'application/json'], ...headers] });
  await send({ type: 'http.response.body', body: JSON.stringify(value) });
}

// --- the request as the app sees it ---------------------------------------------------------------

/** Answers with what it learned about the request, in the same shape for both interfaces. */
const infoApps: Pair = {
  gateway: (environ, startResponse) => {
    const body = environ['tsgi.input'].read();
    startResponse('200 OK', [['Content-Type', 'application/json'], ['X-Kind', 'gateway']]);
    return [
      JSON.stringify({
        method: environ.REQUEST_METHOD,
        path: environ.PATH_INFO,
        rawPath: environ['tsgi.raw_path'],
        query: environ.QUERY_STRING,
        scheme: environ['tsgi.url_scheme'],
        client: [environ.REMOTE_ADDR, Number(environ.REMOTE_PORT)],
        server: [environ.SERVER_NAME, Number(environ.SERVER_PORT)],
        host: environ.HTTP_HOST ?? null,
        custom: environ.HTTP_X_CUSTOM ?? null,
        contentType: environ.CONTENT_TYPE ?? null,
        contentLength: environ.CONTENT_LENGTH ?? null,
        body: text(body),
      }),
    ];
  },
  event: defineEventApp(async (scope, receive, send) => {
    if (scope.type !== 'http') return;
    const body = await readAll(receive);
    await sendJson(
      send,
      {
        method: scope.method,
        path: scope.path,
        rawPath: scope.raw_path,
        query: scope.query_string,
        scheme: scope.scheme,
        client: scope.client,
        server: scope.server,
        host: header(scope, 'host'),
        custom: header(scope, 'x-custom'),
        contentType: header(scope, 'content-type'),
        contentLength: header(scope, 'content-length'),
        body: text(body),
      },
      200,
      [['x-kind', 'event']],
    );
  }),
};

describe.each(KINDS)('TestClient with a %s app: requests', (kind) => {
  const app = infoApps[kind];

  it('answers with a standard Response: status, headers, json()', async () => {
    const client = new TestClient(app);
    const response = await client.get('/hello');
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.ok).toBe(true);
    expect(response.statusText).toBe('OK');
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-kind')).toBe(kind);
    expect(response.url).toBe('http://testserver/hello');
    const info = (await response.json()) as Record<string, unknown>;
    expect(info).toMatchObject({
      method: 'GET',
      path: '/hello',
      query: '',
      scheme: 'http',
      host: 'testserver',
      client: ['127.0.0.1', 50000],
      server: ['testserver', 80],
    });
  });

  it('keeps the query as sent and the raw path apart from the decoded path', async () => {
    const client = new TestClient(app);
    const info = (await (await client.get('/caf%C3%A9/a%2Fb?x=1&y=%20z&x=2')).json()) as Record<string, string>;
    expect(info.path).toBe('/café/a/b');
    expect(info.rawPath).toBe('/caf%C3%A9/a%2Fb');
    expect(info.query).toBe('x=1&y=%20z&x=2');
    // What cannot go in a request line is percent-encoded, as any client does.
    const spaced = (await (await client.get('/a b?q=c d')).json()) as Record<string, string>;
    expect(spaced.rawPath).toBe('/a%20b');
    expect(spaced.path).toBe('/a b');
    expect(spaced.query).toBe('q=c%20d');
  });

  it('takes scheme, host, server and peer from its options', async () => {
    const client = new TestClient(app, { baseUrl: 'https://example.com:8443', client: ['10.1.2.3', 4321] });
    const info = (await (await client.get('/x')).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ scheme: 'https', host: 'example.com:8443', server: ['example.com', 8443], client: ['10.1.2.3', 4321] });
    const absolute = (await (await client.get('http://other.test/y?z=1')).json()) as Record<string, unknown>;
    expect(absolute).toMatchObject({ scheme: 'http', host: 'other.test', server: ['other.test', 80], path: '/y', query: 'z=1' });
  });

  it('sends default headers, which a request header of the same name replaces', async () => {
    const client = new TestClient(app, { headers: { 'X-Custom': 'default' } });
    expect(((await (await client.get('/')).json()) as Record<string, string>).custom).toBe('default');
    const own = (await (await client.get('/', { headers: { 'x-custom': 'mine' } })).json()) as Record<string, string>;
    expect(own.custom).toBe('mine');
  });

  it('sends bodies with the Content-Type and Content-Length fetch() gives them', async () => {
    const client = new TestClient(app);
    const plain = (await (await client.post('/', { body: 'héllo' })).json()) as Record<string, string>;
    expect(plain).toMatchObject({ method: 'POST', body: 'héllo', contentType: 'text/plain;charset=UTF-8', contentLength: '6' });
    const json = (await (await client.put('/', { json: { a: [1, 2] } })).json()) as Record<string, string>;
    expect(json).toMatchObject({ method: 'PUT', body: '{"a":[1,2]}', contentType: 'application/json' });
    const form = (await (await client.patch('/', { body: new URLSearchParams({ q: 'a b' }) })).json()) as Record<string, string>;
    expect(form).toMatchObject({ method: 'PATCH', body: 'q=a+b', contentType: 'application/x-www-form-urlencoded;charset=UTF-8' });
    const empty = (await (await client.delete('/')).json()) as Record<string, string>;
    expect(empty).toMatchObject({ method: 'DELETE', body: '', contentLength: null });
  });

  it('refuses a GET with a body, as fetch() does', async () => {
    const client = new TestClient(app);
    await expect(client.get('/', { body: 'x' })).rejects.toThrow(/GET request cannot have a body/);
  });

  it('refuses fetch() options it would not honour, saying why', async () => {
    const client = new TestClient(app);
    await expect(client.get('/', { signal: AbortSignal.timeout(1000) } as never)).rejects.toThrow(/do not take "signal": .*cancel the response body/);
    await expect(client.get('/', { redirect: 'follow' } as never)).rejects.toThrow(/do not take "redirect": redirects are never followed/);
    await expect(client.get('/', { cache: 'no-store' } as never)).rejects.toThrow(/do not take "cache": it takes method, headers, body and json/);
  });
});

// --- request bodies ----------------------------------------------------------------------------------

describe.each(KINDS)('TestClient with a %s app: streamed uploads', (kind) => {
  it('hands the app each chunk of a ReadableStream upload as it comes', async () => {
    const seen = new Signal();
    const apps: Pair = {
      // An async function: stream mode, called before the body is complete.
      gateway: async (environ, startResponse) => {
        const chunks: string[] = [];
        for await (const chunk of environ['tsgi.input']) {
          chunks.push(text(chunk));
          seen.push(text(chunk));
        }
        startResponse('200 OK', [['Content-Type', 'application/json']]);
        return [JSON.stringify(chunks)];
      },
      event: defineEventApp(async (scope, receive, send) => {
        if (scope.type !== 'http') return;
        const chunks: string[] = [];
        for (;;) {
          const message = await receive();
          if (message.type !== 'http.request') break;
          if (message.body.byteLength > 0) {
            chunks.push(text(message.body));
            seen.push(text(message.body));
          }
          if (!message.more_body) break;
        }
        await sendJson(send, chunks);
      }),
    };
    const client = new TestClient(apps[kind]);
    const body = upload();
    const pending = client.post('/upload', { body: body.stream });
    body.push('one');
    // The app has the first chunk while the upload is still open.
    expect(await seen.next()).toBe('one');
    body.push('two');
    expect(await seen.next()).toBe('two');
    body.end();
    const response = await pending;
    expect(await response.json()).toEqual(['one', 'two']);
  });
});

describe('TestClient with a gateway app: buffered and streamed input', () => {
  const echo: GatewayApp = (environ, startResponse) => {
    const body = environ['tsgi.input'].read();
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [body];
  };

  it('reads a streamed upload whole before calling a buffered app, so read() works', async () => {
    const client = new TestClient(echo);
    const body = upload();
    body.push('a');
    body.push('b');
    body.push('c');
    body.end();
    expect(await (await client.post('/', { body: body.stream })).text()).toBe('abc');
  });

  it('answers 413 without calling a buffered app when the body is over maxBodySize', async () => {
    let calls = 0;
    const counting: GatewayApp = (environ, startResponse) => {
      calls++;
      return echo(environ, startResponse);
    };
    const client = new TestClient(counting, { maxBodySize: 4 });
    expect(await (await client.post('/', { body: '1234' })).text()).toBe('1234');
    const known = await client.post('/', { body: '12345' });
    expect(known.status).toBe(413);
    expect(await known.text()).toMatch(/Content Too Large/);
    const body = upload();
    body.push('123');
    body.push('45');
    const streamed = await client.post('/', { body: body.stream });
    expect(streamed.status).toBe(413);
    expect(calls).toBe(1);
  });

  it('refuses a synchronous read of a streamed body that is still arriving, as the server does', async () => {
    const app: GatewayApp = async (environ) => {
      environ['tsgi.input'].read();
      return [];
    };
    const client = new TestClient(app);
    const body = upload();
    body.push('x');
    await expect(client.post('/', { body: body.stream })).rejects.toThrow(/cannot wait for a streamed request body.*Iterate it instead/s);
  });
});

// --- streamed responses -----------------------------------------------------------------------------

describe.each(KINDS)('TestClient with a %s app: streamed responses', (kind) => {
  it('pulls an endless body only as the test reads it, and ends it once when the test cancels', async () => {
    let produced = 0;
    let closes = 0;
    const stopped = new Signal<unknown>();
    const apps: Pair = {
      gateway: (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        const lines = (function* endless() {
          for (let i = 0; ; i++) {
            produced++;
            yield `line ${i}\n`;
          }
        })();
        return { [Symbol.iterator]: () => lines, close: () => void closes++ };
      },
      event: defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
        try {
          for (let i = 0; ; i++) {
            produced++;
            await send({ type: 'http.response.body', body: `line ${i}\n`, more_body: true });
          }
        } catch (error) {
          closes++;
          stopped.push(error);
        }
      }),
    };
    const client = new TestClient(apps[kind]);
    const response = await client.get('/endless');
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    const lines: string[] = [];
    for (let i = 0; i < 3; i++) lines.push(text((await reader.read()).value));
    expect(lines).toEqual(['line 0\n', 'line 1\n', 'line 2\n']);
    // Nothing is produced ahead of the reader (an event app may have its next send() waiting).
    if (kind === 'gateway') expect(produced).toBe(3);
    else expect(produced).toBeLessThanOrEqual(4);
    await reader.cancel();
    if (kind === 'event') expect(await stopped.next()).toBeInstanceOf(DisconnectedError);
    expect(closes).toBe(1);
    await client.close();
    expect(closes).toBe(1);
  });

  it('fails the body stream with the error the app raises after its response started', async () => {
    const late = new Error('failed mid-body');
    const apps: Pair = {
      gateway: (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return (function* body() {
          yield 'first';
          throw late;
        })();
      },
      event: defineEventApp(async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: 'first', more_body: true });
        throw late;
      }),
    };
    const client = new TestClient(apps[kind]);
    const response = await client.get('/');
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    expect(text((await reader.read()).value)).toBe('first');
    await expect(reader.read()).rejects.toBe(late);
    expect(client.errors.join('')).toContain('failed mid-body');
  });

  it('fails the body when it ends short of the Content-Length the app declared', async () => {
    const apps: Pair = {
      gateway: (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Length', '10']]);
        return (function* body() {
          yield 'abc';
        })();
      },
      event: defineEventApp(async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 200, headers: [['content-length', '10']] });
        await send({ type: 'http.response.body', body: 'abc' }).catch(() => undefined);
      }),
    };
    // Without the validator: the client's own framing rules, the server's.
    const client = new TestClient(apps[kind], { validate: false });
    const response = await client.get('/');
    expect(response.headers.get('content-length')).toBe('10');
    const reader = response.body!.getReader();
    expect(text((await reader.read()).value)).toBe('abc');
    await expect(reader.read()).rejects.toThrow(/short of the Content-Length of 10|after 3 of the 10 bytes/);
  });

  it('ends unread bodies when the client is closed', async () => {
    let closes = 0;
    const stopped = new Signal<unknown>();
    const apps: Pair = {
      gateway: async (_environ, startResponse) => {
        startResponse('200 OK', []);
        const chunks = (async function* endless() {
          for (;;) yield 'x';
        })();
        return Object.assign(chunks, { close: () => void closes++ });
      },
      event: defineEventApp(async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 200 });
        try {
          for (;;) await send({ type: 'http.response.body', body: 'x', more_body: true });
        } catch (error) {
          closes++;
          stopped.push(error);
        }
      }),
    };
    const client = new TestClient(apps[kind]);
    const reader = (await client.get('/')).body!.getReader();
    expect(text((await reader.read()).value)).toBe('x');
    await client.close();
    await expect(reader.read()).rejects.toThrow(/TestClient was closed/);
    if (kind === 'event') expect(await stopped.next()).toBeInstanceOf(DisconnectedError);
    expect(closes).toBe(1);
  });

  it('answers HEAD with the length a GET would announce and no body', async () => {
    const apps: Pair = {
      gateway: (_environ, startResponse) => {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        return ['hello'];
      },
      event: defineEventApp(async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
        await send({ type: 'http.response.body', body: 'hello' });
      }),
    };
    const client = new TestClient(apps[kind]);
    const get = await client.get('/');
    expect(get.headers.get('content-length')).toBe('5');
    expect(await get.text()).toBe('hello');
    const head = await client.head('/');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5');
    expect(head.body).toBeNull();
    expect(await head.text()).toBe('');
  });

  it('gives a 204 no body and keeps a Content-Length the app declared', async () => {
    const apps: Pair = {
      gateway: (environ, startResponse) => {
        if (environ.PATH_INFO === '/empty') {
          startResponse('204 No Content', []);
          return [];
        }
        startResponse('200 OK', [['Content-Length', '5']]);
        return (function* body() {
          yield 'he';
          yield 'llo';
        })();
      },
      event: defineEventApp(async (scope, _receive, send) => {
        if (scope.type !== 'http') return;
        if (scope.path === '/empty') {
          await send({ type: 'http.response.start', status: 204 });
          await send({ type: 'http.response.body' });
          return;
        }
        await send({ type: 'http.response.start', status: 200, headers: [['content-length', '5']] });
        await send({ type: 'http.response.body', body: 'he', more_body: true });
        await send({ type: 'http.response.body', body: 'llo' });
      }),
    };
    const client = new TestClient(apps[kind]);
    const empty = await client.get('/empty');
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
    const declared = await client.get('/declared');
    expect(declared.headers.get('content-length')).toBe('5');
    expect(await declared.text()).toBe('hello');
  });
});

// --- cookies ----------------------------------------------------------------------------------------

const cookieApps: Pair = {
  gateway: (environ, startResponse) => {
    const headers: [string, string][] = [['Content-Type', 'text/plain']];
    if (environ.PATH_INFO === '/login') headers.push(['Set-Cookie', 'session=abc; Path=/; HttpOnly'], ['Set-Cookie', 'admin=yes; Path=/admin']);
    if (environ.PATH_INFO === '/logout') headers.push(['Set-Cookie', 'session=; Max-Age=0; Path=/']);
    if (environ.PATH_INFO === '/secure') headers.push(['Set-Cookie', 'token=t; Secure; Path=/']);
    startResponse('200 OK', headers);
    return [(environ.HTTP_COOKIE as string | undefined) ?? ''];
  },
  event: defineEventApp(async (scope, _receive, send) => {
    if (scope.type !== 'http') return;
    const headers: [string, string][] = [['content-type', 'text/plain']];
    if (scope.path === '/login') headers.push(['set-cookie', 'session=abc; Path=/; HttpOnly'], ['set-cookie', 'admin=yes; Path=/admin']);
    if (scope.path === '/logout') headers.push(['set-cookie', 'session=; Max-Age=0; Path=/']);
    if (scope.path === '/secure') headers.push(['set-cookie', 'token=t; Secure; Path=/']);
    await send({ type: 'http.response.start', status: 200, headers });
    await send({ type: 'http.response.body', body: header(scope, 'cookie') ?? '' });
  }),
};

describe.each(KINDS)('TestClient with a %s app: cookies', (kind) => {
  const app = cookieApps[kind];
  const cookieOf = async (client: TestClient, path: string): Promise<string> => (await client.get(path)).text();

  it('keeps no cookies unless asked', async () => {
    const client = new TestClient(app);
    const login = await client.get('/login');
    expect(login.headers.getSetCookie()).toEqual(['session=abc; Path=/; HttpOnly', 'admin=yes; Path=/admin']);
    expect(await cookieOf(client, '/whoami')).toBe('');
    expect(client.cookies.size).toBe(0);
  });

  it('with cookies: true, sends them back where their path matches and deletes them on Max-Age=0', async () => {
    const client = new TestClient(app, { cookies: true });
    await client.get('/login');
    expect(client.cookies.get('session')).toBe('abc');
    expect(client.cookies.toJSON()).toEqual({ session: 'abc', admin: 'yes' });
    expect(await cookieOf(client, '/whoami')).toBe('session=abc');
    // Longest path first; /administrator is not under /admin.
    expect(await cookieOf(client, '/admin/panel')).toBe('admin=yes; session=abc');
    expect(await cookieOf(client, '/administrator')).toBe('session=abc');
    await client.get('/logout');
    expect(client.cookies.has('session')).toBe(false);
    expect(await cookieOf(client, '/whoami')).toBe('');
    expect(await cookieOf(client, '/admin')).toBe('admin=yes');
  });

  it('keeps a Secure cookie only over https', async () => {
    const plain = new TestClient(app, { cookies: true });
    await plain.get('/secure');
    expect(plain.cookies.has('token')).toBe(false);
    const secure = new TestClient(app, { cookies: true, baseUrl: 'https://testserver' });
    await secure.get('/secure');
    expect(await cookieOf(secure, '/')).toBe('token=t');
    expect([...secure.cookies].map((cookie) => [cookie.name, cookie.secure])).toEqual([['token', true]]);
  });
});

// --- faults ----------------------------------------------------------------------------------------

describe.each(KINDS)('TestClient with a %s app: exceptions', (kind) => {
  let thrown: Error | null = null;
  function explodingGatewayApp(): never {
    thrown = new Error('boom');
    throw thrown;
  }
  async function explodingEventApp(scope: Scope): Promise<void> {
    if (scope.type !== 'http') return;
    thrown = new Error('boom');
    throw thrown;
  }
  const apps: Pair = { gateway: explodingGatewayApp, event: defineEventApp(explodingEventApp) };

  it("rejects with the very error the app raised, its stack naming the app's function", async () => {
    const client = new TestClient(apps[kind]);
    const error = (await client.get('/').catch((caught: unknown) => caught)) as Error;
    expect(error).toBe(thrown);
    expect(error.stack).toContain(kind === 'gateway' ? 'explodingGatewayApp' : 'explodingEventApp');
  });

  it('answers 500 instead with raiseServerExceptions: false, and records the error', async () => {
    const client = new TestClient(apps[kind], { raiseServerExceptions: false });
    const response = await client.get('/');
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('Internal Server Error\n');
    expect(client.errors.join('')).toContain('Error: boom');
  });
});

// --- validation --------------------------------------------------------------------------------------

describe.each(KINDS)('TestClient with a %s app: contract validation', (kind) => {
  const broken: Pair = {
    gateway: ((_environ: Environ, startResponse: StartResponse) => {
      startResponse('200 OK', []);
      return 'a bare string';
    }) as unknown as GatewayApp,
    event: defineEventApp(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: '200' as unknown as number });
      await send({ type: 'http.response.body', body: 'x' });
    }),
  };

  it('is on by default: a contract violation fails the request with a ContractViolation', async () => {
    const client = new TestClient(broken[kind]);
    const error = await client.get('/').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContractViolation);
    expect((error as ContractViolation).side).toBe('app');
    expect(client.violations).toEqual([error]);
  });

  it('fails the request even when the app catches the violation and answers', async () => {
    const swallowing: Pair = {
      gateway: (_environ, startResponse) => {
        try {
          startResponse('OK', []);
        } catch (error) {
          startResponse('200 OK', [], error);
        }
        return ['fine'];
      },
      event: defineEventApp(async (_scope, _receive, send) => {
        try {
          await send({ type: 'http.response.start', status: 42 });
        } catch {
          await send({ type: 'http.response.start', status: 200 });
          await send({ type: 'http.response.body', body: 'fine' });
        }
      }),
    };
    const client = new TestClient(swallowing[kind]);
    await expect(client.get('/')).rejects.toBeInstanceOf(ContractViolation);
  });

  it("is off with validate: false: the client's own checks still refuse what a server refuses", async () => {
    const client = new TestClient(broken[kind], { validate: false });
    const error = await client.get('/').catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(ContractViolation);
    if (kind === 'gateway') expect(error).toBeInstanceOf(TypeError);
    else expect(error).toBeInstanceOf(ProtocolError);
    const lenient = new TestClient(broken[kind], { validate: false, raiseServerExceptions: false });
    expect((await lenient.get('/')).status).toBe(500);
    expect(lenient.violations).toEqual([]);
  });
});

// --- interface-specific details ---------------------------------------------------------------------

describe('TestClient with a gateway app: the environ and startResponse', () => {
  it('builds the environ of docs/spec.md §2', async () => {
    let seen: Environ | null = null;
    const app: GatewayApp = (environ, startResponse) => {
      seen = environ;
      environ['tsgi.errors'].write('to the error log\n');
      startResponse('200 OK', []);
      return [];
    };
    const client = new TestClient(app);
    await client.post('/p%41th?q=1', {
      body: 'abc',
      headers: [
        ['Content-Type', 'text/x-thing'],
        ['X-Multi', 'a'],
        ['X-Multi', 'b'],
        ['X_Under', 'dropped'],
      ],
    });
    const environ = seen as unknown as Environ;
    expect(environ).toMatchObject({
      REQUEST_METHOD: 'POST',
      SCRIPT_NAME: '',
      PATH_INFO: '/pAth',
      QUERY_STRING: 'q=1',
      CONTENT_TYPE: 'text/x-thing',
      CONTENT_LENGTH: '3',
      SERVER_NAME: 'testserver',
      SERVER_PORT: '80',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_PORT: '50000',
      HTTP_HOST: 'testserver',
      HTTP_X_MULTI: 'a, b',
      'tsgi.version': [1, 0],
      'tsgi.url_scheme': 'http',
      'tsgi.multithread': false,
      'tsgi.multiprocess': false,
      'tsgi.run_once': false,
      'tsgi.raw_path': '/p%41th',
    });
    expect(environ.HTTP_CONTENT_TYPE).toBeUndefined();
    expect(environ.HTTP_CONTENT_LENGTH).toBeUndefined();
    expect(Object.keys(environ).filter((key) => key.includes('UNDER'))).toEqual([]);
    expect(typeof environ['tsgi.input'].read).toBe('function');
    expect(client.errors).toContain('to the error log\n');
  });

  it('sends legacy write() output before the returned body, and lets excInfo replace the head', async () => {
    const app: GatewayApp = (environ, startResponse) => {
      const write = startResponse('200 OK', [['X-First', '1']]);
      if (environ.PATH_INFO === '/replace') {
        startResponse('503 Service Unavailable', [['Retry-After', '1']], new Error('changed my mind'));
        return ['later'];
      }
      write('written ');
      return ['returned'];
    };
    const client = new TestClient(app);
    expect(await (await client.get('/write')).text()).toBe('written returned');
    const replaced = await client.get('/replace');
    expect(replaced.status).toBe(503);
    expect(replaced.statusText).toBe('Service Unavailable');
    expect(replaced.headers.get('retry-after')).toBe('1');
    expect(replaced.headers.get('x-first')).toBeNull();
  });

  it('starts the response with the first non-empty chunk, so a generator may call startResponse', async () => {
    const app: GatewayApp = (_environ, startResponse) =>
      (function* lazy() {
        startResponse('200 OK', [['Content-Type', 'text/plain']]);
        yield '';
        // Nothing went out yet (the chunk was empty): the head may still be replaced.
        startResponse('201 Created', [['Content-Type', 'text/plain']], new Error('changed'));
        yield 'made';
      })();
    const client = new TestClient(app);
    const response = await client.get('/');
    expect(response.status).toBe(201);
    expect(await response.text()).toBe('made');
  });
});

describe('TestClient with an event app: the scope and the messages', () => {
  it('builds the http scope of docs/spec.md §10', async () => {
    let seen: HttpScope | null = null;
    const app = defineEventApp(async (scope, _receive, send) => {
      if (scope.type !== 'http') return;
      seen = scope;
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body' });
    });
    await new TestClient(app).get('/a%20b?x=1', { headers: [['X-Multi', 'a'], ['X-Multi', 'b']] });
    expect(seen).toMatchObject({
      type: 'http',
      asgi: { version: '3.0', spec_version: '2.5' },
      http_version: '1.1',
      method: 'GET',
      scheme: 'http',
      path: '/a b',
      raw_path: '/a%20b',
      query_string: 'x=1',
      root_path: '',
      client: ['127.0.0.1', 50000],
      server: ['testserver', 80],
      state: {},
      extensions: { 'http.response.trailers': {} },
    });
    expect(seen!.headers).toEqual(expect.arrayContaining([['host', 'testserver'], ['x-multi', 'a'], ['x-multi', 'b']]));
  });

  it('makes a body send() wait until the test reads the chunk', async () => {
    let delivered = 0;
    const app = defineEventApp(async (_scope, _receive, send) => {
      await send({ type: 'http.response.start', status: 200 });
      await send({ type: 'http.response.body', body: 'a', more_body: true });
      delivered++;
      await send({ type: 'http.response.body', body: 'b', more_body: true });
      delivered++;
      await send({ type: 'http.response.body', body: '' });
    });
    const response = await new TestClient(app).get('/');
    const reader = response.body!.getReader();
    await new Promise((resolve) => setImmediate(resolve));
    expect(delivered).toBe(0);
    expect(text((await reader.read()).value)).toBe('a');
    expect(text((await reader.read()).value)).toBe('b');
    expect((await reader.read()).done).toBe(true);
    expect(delivered).toBe(2);
  });

  it('yields http.disconnect once the response is complete, and hands over trailers', async () => {
    const after = new Signal();
    const app = defineEventApp(async (_scope, receive, send) => {
      await readAll(receive);
      await send({ type: 'http.response.start', status: 200, trailers: true });
      await send({ type: 'http.response.body', body: 'data' });
      await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
      after.push((await receive()).type);
    });
    const response = await new TestClient(app).post('/', { body: 'in' });
    expect(await response.text()).toBe('data');
    expect((await trailersOf(response)).get('x-checksum')).toBe('abc');
    expect(await after.next()).toBe('http.disconnect');
  });
});

// --- websockets ---------------------------------------------------------------------------------------

describe('TestClient websockets', () => {
  const disconnects = new Signal<{ code: number; reason: string }>();
  const failure = new Error('websocket handler failed');
  const app = defineEventApp(async (scope, receive, send) => {
    if (scope.type !== 'websocket') return;
    if (scope.path === '/refuse') {
      await send({ type: 'websocket.close', code: 4003, reason: 'go away' });
      return;
    }
    if (scope.path === '/early-failure') throw failure;
    expect((await receive()).type).toBe('websocket.connect');
    const subprotocol = scope.subprotocols.includes('chat.v2') ? 'chat.v2' : null;
    await send({ type: 'websocket.accept', subprotocol, headers: [['x-welcome', scope.scheme]] });
    for (;;) {
      const message = await receive();
      if (message.type === 'websocket.disconnect') {
        disconnects.push({ code: message.code, reason: message.reason });
        return;
      }
      if (message.type !== 'websocket.receive') continue;
      if (message.text === 'bye') {
        await send({ type: 'websocket.close', code: 4000, reason: 'bye' });
        return;
      }
      if (message.text === 'fail') throw failure;
      if (message.text !== undefined) await send({ type: 'websocket.send', text: `echo: ${message.text}` });
      else await send({ type: 'websocket.send', bytes: message.bytes! });
    }
  });

  it('connects, agrees on a subprotocol, echoes text and bytes, and closes with a code', async () => {
    const client = new TestClient(app);
    const ws = await client.websocket('/ws', { subprotocols: ['chat.v1', 'chat.v2'] });
    expect(ws.subprotocol).toBe('chat.v2');
    expect(ws.headers.get('x-welcome')).toBe('ws');
    ws.send('hello');
    expect(await ws.receiveText()).toBe('hello'.replace(/^/, 'echo: '));
    ws.send(new Uint8Array([1, 2, 3]));
    expect([...(await ws.receiveBytes())]).toEqual([1, 2, 3]);
    await ws.close(4001, 'done');
    expect(await disconnects.next()).toEqual({ code: 4001, reason: 'done' });
    expect(await ws.closed).toEqual({ code: 4001, reason: 'done', by: 'client' });
    expect(() => ws.send('again')).toThrow(WebSocketClosed);
  });

  it('tells the test when the app closes: receive() rejects with the code and reason', async () => {
    const ws = await new TestClient(app, { baseUrl: 'https://testserver' }).websocket('/ws');
    expect(ws.subprotocol).toBeNull();
    expect(ws.headers.get('x-welcome')).toBe('wss');
    ws.send('bye');
    const closed = (await ws.receive().catch((caught: unknown) => caught)) as WebSocketClosed;
    expect(closed).toBeInstanceOf(WebSocketClosed);
    expect([closed.code, closed.reason]).toEqual([4000, 'bye']);
    expect(await ws.closed).toEqual({ code: 4000, reason: 'bye', by: 'app' });
  });

  it('rejects websocket() with a 403 refusal when the app closes before accepting', async () => {
    const error = (await new TestClient(app).websocket('/refuse').catch((caught: unknown) => caught)) as WebSocketRefused;
    expect(error).toBeInstanceOf(WebSocketRefused);
    expect([error.status, error.code, error.reason]).toEqual([403, 4003, 'go away']);
    expect(error.message).toMatch(/refused.*403 Forbidden.*4003/);
  });

  it("passes the app's own error to the test, before and after accepting", async () => {
    await expect(new TestClient(app).websocket('/early-failure')).rejects.toBe(failure);
    const ws = await new TestClient(app).websocket('/ws');
    ws.send('fail');
    await expect(ws.receive()).rejects.toBe(failure);
    const lenient = new TestClient(app, { raiseServerExceptions: false });
    await expect(lenient.websocket('/early-failure')).rejects.toMatchObject({ name: 'WebSocketRefused', status: 500 });
    const quiet = await lenient.websocket('/ws');
    quiet.send('fail');
    await expect(quiet.receive()).rejects.toMatchObject({ name: 'WebSocketClosed', code: 1011 });
  });

  it('closes open websockets with 1001 when the client is closed', async () => {
    const client = new TestClient(app);
    const ws = await client.websocket('/ws');
    await client.close();
    expect(await disconnects.next()).toEqual({ code: 1001, reason: 'the TestClient was closed' });
    await expect(ws.receive()).rejects.toMatchObject({ name: 'WebSocketClosed', code: 1001 });
  });

  it('refuses websockets for gateway apps with a message that says what to do', async () => {
    const gateway: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', []);
      return [];
    };
    await expect(new TestClient(gateway).websocket('/ws')).rejects.toThrow(/needs an event app.*cannot accept a websocket/);
  });
});

// --- lifespan -----------------------------------------------------------------------------------------

describe('TestClient lifespan', () => {
  function lifespanApp(log: string[], failWith?: string): EventApp {
    return defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        for (;;) {
          const message = await receive();
          if (message.type === 'lifespan.startup') {
            log.push('startup');
            if (failWith !== undefined) {
              await send({ type: 'lifespan.startup.failed', message: failWith });
              return;
            }
            scope.state.db = 'connected';
            await send({ type: 'lifespan.startup.complete' });
          } else if (message.type === 'lifespan.shutdown') {
            log.push('shutdown');
            await send({ type: 'lifespan.shutdown.complete' });
            return;
          }
        }
      }
      if (scope.type !== 'http') return;
      const state = { ...scope.state };
      scope.state.mutated = true;
      await sendJson(send, state);
    });
  }

  it('runs startup on start() and shutdown on close(); each scope gets a copy of the state', async () => {
    const log: string[] = [];
    const client = new TestClient(lifespanApp(log));
    expect(await (await client.get('/')).json()).toEqual({});
    expect(await client.start()).toBe(client);
    expect(log).toEqual(['startup']);
    expect(await (await client.get('/')).json()).toEqual({ db: 'connected' });
    // The app's change to one scope's state does not leak into the next.
    expect(await (await client.get('/')).json()).toEqual({ db: 'connected' });
    await client.close();
    expect(log).toEqual(['startup', 'shutdown']);
  });

  it('works with await using and TestClient.start()', async () => {
    const log: string[] = [];
    {
      await using client = await TestClient.start(lifespanApp(log));
      expect(log).toEqual(['startup']);
      expect(await (await client.get('/')).json()).toEqual({ db: 'connected' });
    }
    expect(log).toEqual(['startup', 'shutdown']);
  });

  it("rejects start() with the app's message when startup fails", async () => {
    const client = new TestClient(lifespanApp([], 'no database'));
    const error = await client.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LifespanError);
    expect((error as Error).message).toMatch(/no database/);
  });

  it("honours lifespan: 'off', and does nothing for gateway apps", async () => {
    const log: string[] = [];
    await (await TestClient.start(lifespanApp(log), { lifespan: 'off' })).close();
    expect(log).toEqual([]);
    const gateway: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', []);
      return ['ok'];
    };
    const client = await TestClient.start(gateway);
    expect(await (await client.get('/')).text()).toBe('ok');
    await client.close();
  });
});
