/**
 * trustedHosts() and httpsRedirect() over real sockets on the llhttp backend, for a gateway app
 * and the same app written as an event app: allowed and refused Host values (exact, wildcard,
 * port, IPv6, missing), redirect URLs (host, port, encoded path, query, mount prefix), statuses,
 * https requests passing through behind a trusted proxy, websockets refused or passed, lifespan
 * passed, and the mistakes refused when the app is wrapped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { httpsRedirect } from '../src/middleware/https-redirect/index.js';
import { trustedHosts } from '../src/middleware/trusted-hosts/index.js';
import { defineEventApp, type Environ, type EventApp, type GatewayApp, type ServeOptions } from '../src/index.js';
import { parseResponses, rawRequest, startServer, type TestServer } from './helpers.js';

// --- the inner app, once per interface ---------------------------------------------------------

interface Seen {
  /** What the app itself saw of each request it handled. */
  calls: string[];
  lifespanStarted: boolean;
}

/** The app answers with what it saw, so a test can tell it ran and with which URL. */
function describeRequest(scheme: string, host: string | undefined, scriptName: string, path: string): string {
  return `${scheme} ${host ?? '-'} ${scriptName}|${path}`;
}

function gatewayApp(seen: Seen): GatewayApp {
  return (environ, startResponse) => {
    const text = describeRequest(environ['tsgi.url_scheme'], environ.HTTP_HOST as string | undefined, environ.SCRIPT_NAME, environ.PATH_INFO);
    seen.calls.push(text);
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [text];
  };
}

function eventApp(seen: Seen): EventApp {
  return defineEventApp(async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const message = await receive();
        if (message.type === 'lifespan.startup') {
          seen.lifespanStarted = true;
          await send({ type: 'lifespan.startup.complete' });
        } else {
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    const host = scope.headers.find(([name]) => name === 'host')?.[1];
    if (scope.type === 'websocket') {
      await receive();
      await send({ type: 'websocket.accept' });
      const message = await receive();
      if (message.type === 'websocket.receive') await send({ type: 'websocket.send', text: `${scope.scheme} echo ${message.text}` });
      await send({ type: 'websocket.close' });
      return;
    }
    const text = describeRequest(scope.scheme, host, scope.root_path, scope.path);
    seen.calls.push(text);
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
    await send({ type: 'http.response.body', body: text });
  });
}

/**
 * A minimal mount, as a mount middleware does it: moves `prefix` from the path into SCRIPT_NAME /
 * root_path and keeps the raw path the raw form of the rest.
 */
function gatewayMount(prefix: string, app: GatewayApp): GatewayApp {
  return (environ, startResponse) => {
    const mounted: Environ = {
      ...environ,
      SCRIPT_NAME: environ.SCRIPT_NAME + prefix,
      PATH_INFO: environ.PATH_INFO.slice(prefix.length),
      'tsgi.raw_path': environ['tsgi.raw_path'].slice(prefix.length),
    };
    return app(mounted, startResponse);
  };
}

function eventMount(prefix: string, app: EventApp): EventApp {
  return defineEventApp(async (scope, receive, send) => {
    if (scope.type === 'lifespan') return app(scope, receive, send);
    return app({ ...scope, root_path: scope.root_path + prefix, path: scope.path.slice(prefix.length), raw_path: scope.raw_path.slice(prefix.length) }, receive, send);
  });
}

/** A middleware in front that rewrites the path and forgets the raw path: it no longer matches. */
function gatewayRewrite(path: string, app: GatewayApp): GatewayApp {
  return (environ, startResponse) => app({ ...environ, PATH_INFO: path }, startResponse);
}

function eventRewrite(path: string, app: EventApp): EventApp {
  return defineEventApp(async (scope, receive, send) => (scope.type === 'lifespan' ? app(scope, receive, send) : app({ ...scope, path }, receive, send)));
}

const KINDS = [
  { kind: 'gateway', makeApp: gatewayApp as (seen: Seen) => GatewayApp | EventApp, mount: gatewayMount, rewrite: gatewayRewrite },
  { kind: 'event', makeApp: eventApp, mount: eventMount, rewrite: eventRewrite },
] as const;

// --- helpers -----------------------------------------------------------------------------------

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with any Host (fetch would set its own), nothing followed. */
async function send(path: string, host?: string, init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (host !== undefined) headers.host = host;
  const response = await request(`${server!.url}${path}`, { method: init.method ?? 'GET', headers, body: init.body });
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
}

/** A HTTP/1.0 request without a Host header (HTTP/1.1 requires one: the server refuses those itself). */
async function withoutHost(path: string): Promise<{ status: number; location: string | undefined; body: string }> {
  const { text } = await rawRequest(server!.port, `GET ${path} HTTP/1.0\r\n\r\n`, 5000);
  const [response] = parseResponses(text);
  return { status: response!.status, location: response!.header('location')[0], body: response!.body };
}

type WsOutcome = { refusedWith: number } | { reply: string };

/** Opens a websocket with `headers` and sends one message; resolves with the reply or the refusal status. */
function websocket(headers: Record<string, string> = {}): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/socket`, { headers });
    ws.once('open', () => ws.send('hi'));
    ws.once('message', (data) => {
      resolve({ reply: (data as Buffer).toString('utf8') });
      ws.close();
    });
    ws.once('unexpected-response', (req, response) => {
      resolve({ refusedWith: response.statusCode ?? 0 });
      req.destroy();
    });
    ws.on('error', (error) => reject(error));
  });
}

async function serve(app: GatewayApp | EventApp, options: ServeOptions = {}): Promise<void> {
  server = await startServer(app as GatewayApp, 'llhttp', options);
}

// --- trustedHosts --------------------------------------------------------------------------------

describe.each(KINDS)('trustedHosts() around a $kind app', ({ makeApp }) => {
  let seen: Seen;
  async function serveWith(hosts: string | string[], options?: ServeOptions): Promise<void> {
    seen = { calls: [], lifespanStarted: false };
    await serve(trustedHosts(makeApp(seen), hosts), options);
  }

  it('lets an exact host through, whatever its case, port or trailing dot', async () => {
    await serveWith(['example.com', 'api.example.net']);
    for (const host of ['example.com', 'EXAMPLE.Com', 'example.com:8080', 'example.com.', 'api.example.net:443']) {
      const answer = await send('/page', host);
      expect(answer.status, host).toBe(200);
      expect(answer.body).toBe(`http ${host} |/page`);
    }
  });

  it('refuses any other host with 400 and a plain-text body; the app never sees it', async () => {
    await serveWith(['example.com']);
    for (const host of ['evil.example', 'example.com.evil.example', 'www.example.com', 'example.co', '127.0.0.1']) {
      const answer = await send('/page', host);
      expect(answer.status, host).toBe(400);
      expect(answer.body).toBe('Invalid host header');
      expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    }
    expect(seen.calls).toEqual([]);
  });

  it("'*.example.com' allows every subdomain at any depth but not the apex or look-alikes", async () => {
    await serveWith(['*.example.com']);
    for (const host of ['a.example.com', 'A.B.Example.COM:8443']) expect((await send('/', host)).status, host).toBe(200);
    for (const host of ['example.com', 'badexample.com', 'a.example.com.evil.net']) expect((await send('/', host)).status, host).toBe(400);
  });

  it('matches IPv6 literals in brackets, with or without a port, in any spelling', async () => {
    await serveWith(['[::1]', '2001:db8::7']);
    for (const host of ['[::1]', '[::1]:8080', '[0:0:0:0:0:0:0:1]', '[2001:DB8:0::7]:443']) expect((await send('/', host)).status, host).toBe(200);
    for (const host of ['[::2]', '[2001:db8::8]']) expect((await send('/', host)).status, host).toBe(400);
  });

  it('allows the host a client uses by default (127.0.0.1 with its port)', async () => {
    await serveWith('127.0.0.1');
    const response = await fetch(`${server!.url}/plain`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(`http 127.0.0.1:${server!.port} |/plain`);
  });

  it('refuses a request without a Host header', async () => {
    await serveWith(['example.com']);
    const answer = await withoutHost('/page');
    expect(answer.status).toBe(400);
    expect(answer.body).toBe('Invalid host header');
    expect(seen.calls).toEqual([]);
  });

  it("'*' allows every host, even none", async () => {
    await serveWith(['*']);
    expect((await send('/', 'anything.example')).status).toBe(200);
    expect((await withoutHost('/')).status).toBe(200);
  });
});

describe('trustedHosts() around an event app: websockets and lifespan', () => {
  it('refuses a websocket from another host before accepting it (the client sees 403), and passes an allowed one', async () => {
    const seen: Seen = { calls: [], lifespanStarted: false };
    await serve(trustedHosts(eventApp(seen), ['example.com']), { lifespan: 'on' });
    expect(seen.lifespanStarted).toBe(true);
    expect(await websocket({ Host: 'evil.example' })).toEqual({ refusedWith: 403 });
    expect(await websocket({ Host: 'example.com' })).toEqual({ reply: 'ws echo hi' });
  });
});

describe('trustedHosts() around a gateway app', () => {
  it('keeps a buffered app buffered: the synchronous read() of the body works through the wrapper', async () => {
    const app: GatewayApp = (environ, startResponse) => {
      const body = (environ['tsgi.input'] as { read(): Uint8Array }).read();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`read ${Buffer.from(body).toString('utf8')}`];
    };
    await serve(trustedHosts(app, ['example.com']));
    expect((await send('/', 'example.com', { method: 'POST', body: 'payload' })).body).toBe('read payload');
  });
});

describe('trustedHosts() refuses mistakes when the app is wrapped', () => {
  const app = gatewayApp({ calls: [], lifespanStarted: false });
  it('an empty list, a port, a URL, a misplaced wildcard, a non-list', () => {
    expect(() => trustedHosts(app, [])).toThrow(/empty host list/);
    expect(() => trustedHosts(app, ['example.com:8080'])).toThrow(/name no port.*use 'example\.com'/);
    expect(() => trustedHosts(app, ['https://example.com/'])).toThrow(/host names, not URLs: use 'example\.com'/);
    expect(() => trustedHosts(app, ['www.*.example.com'])).toThrow(/'\*' only alone or as a leading '\*\.'/);
    expect(() => trustedHosts(app, ['[::zz]'])).toThrow(/not a valid IPv6 address/);
    expect(() => trustedHosts(app, undefined as unknown as string[])).toThrow(/needs a list of allowed host names/);
  });
});

// --- httpsRedirect -------------------------------------------------------------------------------

describe.each(KINDS)('httpsRedirect() around a $kind app', ({ makeApp, mount, rewrite }) => {
  let seen: Seen;
  function fresh(): GatewayApp | EventApp {
    seen = { calls: [], lifespanStarted: false };
    return makeApp(seen);
  }

  it('redirects with 308 to the same host, encoded path and query on https; the app never runs', async () => {
    await serve(httpsRedirect(fresh()));
    const answer = await send('/a%2Fb/caf%C3%A9?x=1&y=%20z', 'example.com');
    expect(answer.status).toBe(308);
    expect(answer.headers.location).toBe('https://example.com/a%2Fb/caf%C3%A9?x=1&y=%20z');
    expect(answer.body).toBe('');
    expect(seen.calls).toEqual([]);
  });

  it('drops an explicit :80, keeps another port, and brackets IPv6', async () => {
    await serve(httpsRedirect(fresh()));
    expect((await send('/p', 'Example.COM:80')).headers.location).toBe('https://example.com/p');
    expect((await send('/p', 'example.com:8080')).headers.location).toBe('https://example.com:8080/p');
    expect((await send('/p', '[::1]:80')).headers.location).toBe('https://[::1]/p');
    const response = await fetch(`${server!.url}/p?q`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe(`https://127.0.0.1:${server!.port}/p?q`);
  });

  it('httpsPort names the https port in every redirect (none for 443)', async () => {
    await serve(httpsRedirect(fresh(), { httpsPort: 8443 }));
    expect((await send('/p', 'example.com:8080')).headers.location).toBe('https://example.com:8443/p');
    expect((await send('/p', 'example.com')).headers.location).toBe('https://example.com:8443/p');
    await server!.close();
    await serve(httpsRedirect(fresh(), { httpsPort: 443 }));
    expect((await send('/p', 'example.com:8080')).headers.location).toBe('https://example.com/p');
  });

  it('answers with the status asked for', async () => {
    await serve(httpsRedirect(fresh(), { status: 301 }));
    const moved = await send('/old', 'example.com');
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe('https://example.com/old');
    await server!.close();
    await serve(httpsRedirect(fresh(), { status: 307 }));
    const temporary = await send('/form', 'example.com', { method: 'POST', body: 'a=1' });
    expect(temporary.status).toBe(307);
    expect(temporary.headers.location).toBe('https://example.com/form');
    expect(seen.calls).toEqual([]);
  });

  it('passes a request a trusted proxy says came over https to the app untouched', async () => {
    await serve(httpsRedirect(fresh()), { proxyHeaders: true, forwardedAllowIps: ['127.0.0.1'] });
    const answer = await send('/secure?x=1', 'example.com', { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('https example.com |/secure');
    expect(seen.calls).toEqual(['https example.com |/secure']);
    // The same header from an untrusted peer changes nothing: redirected.
    await server!.close();
    await serve(httpsRedirect(fresh()), { proxyHeaders: true, forwardedAllowIps: ['10.9.9.9'] });
    expect((await send('/secure', 'example.com', { headers: { 'X-Forwarded-Proto': 'https' } })).status).toBe(308);
  });

  it('keeps the mount prefix and the raw path below it', async () => {
    await serve(mount('/api', httpsRedirect(fresh()) as never));
    expect((await send('/api/a%2Fb?q=1', 'example.com')).headers.location).toBe('https://example.com/api/a%2Fb?q=1');
  });

  it('encodes the decoded path when a middleware in front rewrote it without its raw form', async () => {
    await serve(rewrite('/new path/ü', httpsRedirect(fresh()) as never));
    expect((await send('/old', 'example.com')).headers.location).toBe('https://example.com/new%20path/%C3%BC');
  });

  it('without a Host header (HTTP/1.0) redirects to the address the server listens on', async () => {
    await serve(httpsRedirect(fresh()));
    const answer = await withoutHost('/x?y=1');
    expect(answer.status).toBe(308);
    expect(answer.location).toBe(`https://127.0.0.1:${server!.port}/x?y=1`);
  });
});

describe('httpsRedirect() around an event app: websockets and lifespan', () => {
  it('refuses a plain ws:// websocket (the client sees 403), passes a wss one, and runs the lifespan', async () => {
    const seen: Seen = { calls: [], lifespanStarted: false };
    await serve(httpsRedirect(eventApp(seen)), { lifespan: 'on', proxyHeaders: true, forwardedAllowIps: ['127.0.0.1'] });
    expect(seen.lifespanStarted).toBe(true);
    expect(await websocket()).toEqual({ refusedWith: 403 });
    expect(await websocket({ 'X-Forwarded-Proto': 'https' })).toEqual({ reply: 'wss echo hi' });
  });
});

describe('trustedHosts() in front of httpsRedirect()', () => {
  it('refuses a forged host before it can become a redirect target', async () => {
    const seen: Seen = { calls: [], lifespanStarted: false };
    await serve(trustedHosts(httpsRedirect(gatewayApp(seen)), ['example.com']));
    expect((await send('/', 'evil.example')).status).toBe(400);
    expect((await send('/', 'example.com')).headers.location).toBe('https://example.com/');
  });
});

describe('httpsRedirect() refuses mistakes when the app is wrapped', () => {
  const app = gatewayApp({ calls: [], lifespanStarted: false });
  it('a status that is not a redirect keeping the URL, a port out of range', () => {
    expect(() => httpsRedirect(app, { status: 303 as 301 })).toThrow(/status must be 301, 302, 307 or 308; got 303/);
    expect(() => httpsRedirect(app, { httpsPort: 0 })).toThrow(/httpsPort must be an integer from 1 to 65535/);
    expect(() => httpsRedirect(null as unknown as GatewayApp)).toThrow(/httpsRedirect\(\) needs an app/);
  });
});
