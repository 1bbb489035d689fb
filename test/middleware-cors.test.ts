/**
 * cors() over real sockets on the llhttp backend, for a gateway app and the same app written as
 * an event app: preflights answered without the app (allowed and refused), origins given as '*',
 * strings, lists, RegExps and functions, credentials, exposed headers, Vary, streamed bodies
 * passing through untouched, the legacy write()/excInfo paths, websockets and lifespan passing
 * through, and the mistakes refused when the app is wrapped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { cors, type CorsOptions } from '../src/middleware/cors/index.js';
import { defineEventApp, type EventApp, type GatewayApp, type StartResponse } from '../src/index.js';
import { eventually, startServer, type TestServer } from './helpers.js';

// --- the inner app, once per interface ---------------------------------------------------------

interface Seen {
  /** `METHOD path` of every request the app itself handled. */
  calls: string[];
  /** Opened by a test to let the streaming route send its second chunk. */
  gate: Gate;
  lifespanStarted: boolean;
}

interface Gate {
  wait: Promise<void>;
  open(): void;
}

function newGate(): Gate {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Headers every plain response of the inner app carries; `/vary` adds its own Vary, `/stale` a wrong ACAO. */
function appHeaders(path: string): [string, string][] {
  const headers: [string, string][] = [
    ['Content-Type', 'text/plain'],
    ['X-Request-Id', '42'],
  ];
  if (path === '/vary') headers.push(['Vary', 'Accept-Encoding']);
  if (path === '/stale') headers.push(['Access-Control-Allow-Origin', 'https://stale.example']);
  return headers;
}

function gatewayApp(seen: Seen): GatewayApp {
  return (environ, startResponse) => {
    seen.calls.push(`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`);
    if (environ.PATH_INFO === '/stream') {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'first;';
        await seen.gate.wait;
        yield 'second';
      })();
    }
    startResponse('200 OK', appHeaders(environ.PATH_INFO));
    return [`${environ.REQUEST_METHOD} ${environ.PATH_INFO}`];
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
    if (scope.type === 'websocket') {
      await receive();
      await send({ type: 'websocket.accept' });
      const message = await receive();
      if (message.type === 'websocket.receive') await send({ type: 'websocket.send', text: `echo ${message.text}` });
      await send({ type: 'websocket.close' });
      return;
    }
    seen.calls.push(`${scope.method} ${scope.path}`);
    if (scope.path === '/stream') {
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
      await send({ type: 'http.response.body', body: 'first;', more_body: true });
      await seen.gate.wait;
      await send({ type: 'http.response.body', body: 'second' });
      return;
    }
    // Header names and values as bytes, as ASGI allows: the middleware must edit them as text.
    const headers = appHeaders(scope.path).map(([name, value]) => [Buffer.from(name.toLowerCase()), Buffer.from(value)] as [Buffer, Buffer]);
    await send({ type: 'http.response.start', status: 200, headers: headers as unknown as [string, string][] });
    await send({ type: 'http.response.body', body: `${scope.method} ${scope.path}` });
  });
}

const KINDS = [
  ['gateway', gatewayApp],
  ['event', eventApp],
] as const;

// --- helpers -----------------------------------------------------------------------------------

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const SITE = 'https://app.example';

async function preflight(path: string, origin: string, method: string, headers?: string): Promise<Response> {
  const requestHeaders: Record<string, string> = { Origin: origin, 'Access-Control-Request-Method': method };
  if (headers !== undefined) requestHeaders['Access-Control-Request-Headers'] = headers;
  return fetch(`${server!.url}${path}`, { method: 'OPTIONS', headers: requestHeaders });
}

function get(path: string, origin?: string, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = origin === undefined ? {} : { Origin: origin };
  return fetch(`${server!.url}${path}`, { ...init, headers });
}

/** The tokens of a response's Vary header, lower-case. */
function varyOf(response: Response): string[] {
  return (response.headers.get('vary') ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '');
}

describe.each(KINDS)('cors() around a %s app', (_kind, makeApp) => {
  let seen: Seen;
  async function serveWith(options?: CorsOptions): Promise<void> {
    seen = { calls: [], gate: newGate(), lifespanStarted: false };
    server = await startServer(cors(makeApp(seen) as GatewayApp, options), 'llhttp');
  }

  describe("origin '*' (the default)", () => {
    it('answers an allowed preflight itself with 204 and the allow headers; the app never sees it', async () => {
      await serveWith();
      const response = await preflight('/items', SITE, 'PUT', 'X-Token, Content-Type');
      expect(response.status).toBe(204);
      expect(await response.text()).toBe('');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('access-control-allow-methods')).toBe('GET, HEAD, PUT, PATCH, POST, DELETE');
      // Without an allowHeaders list, the requested headers are echoed back.
      expect(response.headers.get('access-control-allow-headers')).toBe('X-Token, Content-Type');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-max-age')).toBeNull();
      expect(varyOf(response)).toEqual(['access-control-request-method', 'access-control-request-headers']);
      expect(seen.calls).toEqual([]);
    });

    it('adds Access-Control-Allow-Origin: * to a response for any origin, without Vary: Origin', async () => {
      await serveWith();
      const response = await get('/hello', 'https://anyone.example');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('GET /hello');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(response.headers.get('x-request-id')).toBe('42');
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toBeNull();
      expect(varyOf(response)).not.toContain('origin');
    });

    it('leaves a request without Origin untouched', async () => {
      await serveWith();
      const response = await get('/hello');
      expect(await response.text()).toBe('GET /hello');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('vary')).toBeNull();
    });

    it('passes an OPTIONS request that is not a preflight (no Access-Control-Request-Method) to the app', async () => {
      await serveWith();
      const response = await get('/hello', SITE, { method: 'OPTIONS' });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('OPTIONS /hello');
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      expect(seen.calls).toEqual(['OPTIONS /hello']);
    });

    it('refuses a preflight for a method outside the list with 403, without allow headers, and not to the app', async () => {
      await serveWith({ methods: ['GET', 'POST'] });
      const response = await preflight('/items', SITE, 'DELETE');
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Disallowed CORS method');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-methods')).toBeNull();
      expect(seen.calls).toEqual([]);
      const allowed = await preflight('/items', SITE, 'POST');
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-methods')).toBe('GET, POST');
    });

    it("methods ['*'] echoes whatever method the preflight asks for", async () => {
      await serveWith({ methods: ['*'] });
      const response = await preflight('/items', SITE, 'PURGE');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-methods')).toBe('PURGE');
    });
  });

  describe('a list of origins with credentials', () => {
    const options: CorsOptions = {
      origin: [SITE, /^https:\/\/[a-z0-9-]+\.tenant\.example$/],
      credentials: true,
      allowHeaders: ['X-Token'],
      exposeHeaders: ['X-Request-Id', 'X-Total'],
      maxAge: 600,
    };

    it('answers a preflight from a listed origin with the origin echoed, credentials, max-age and the header list', async () => {
      await serveWith(options);
      const response = await preflight('/items', SITE, 'PATCH', 'x-token, content-type');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-max-age')).toBe('600');
      expect(response.headers.get('access-control-allow-headers')).toBe('X-Token, Accept, Accept-Language, Content-Language, Content-Type');
      expect(varyOf(response)).toEqual(['origin', 'access-control-request-method', 'access-control-request-headers']);
      expect(seen.calls).toEqual([]);
    });

    it('answers a preflight from an origin the RegExp matches', async () => {
      await serveWith(options);
      const response = await preflight('/items', 'https://acme.tenant.example', 'GET');
      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://acme.tenant.example');
    });

    it('refuses a preflight from another origin with 403 and no allow headers; the app never sees it', async () => {
      await serveWith(options);
      for (const origin of ['https://evil.example', 'https://acme.tenant.example.evil.net', 'http://app.example', 'null']) {
        const response = await preflight('/items', origin, 'GET');
        expect(response.status, origin).toBe(403);
        expect(await response.text()).toBe('Disallowed CORS origin');
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
        expect(response.headers.get('access-control-allow-credentials')).toBeNull();
        expect(varyOf(response)).toContain('origin');
      }
      expect(seen.calls).toEqual([]);
    });

    it('refuses a preflight asking for a header outside the list', async () => {
      await serveWith(options);
      const response = await preflight('/items', SITE, 'GET', 'X-Token, X-Secret');
      expect(response.status).toBe(403);
      expect(await response.text()).toBe('Disallowed CORS headers');
      expect(response.headers.get('access-control-allow-headers')).toBeNull();
    });

    it('names every refused part at once', async () => {
      await serveWith(options);
      const response = await preflight('/items', 'https://evil.example', 'PURGE', 'X-Secret');
      expect(await response.text()).toBe('Disallowed CORS origin, method, headers');
    });

    it('adds the echoed origin, credentials, exposed headers and Vary: Origin to the app response', async () => {
      await serveWith(options);
      const response = await get('/hello', SITE);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('GET /hello');
      expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
      expect(response.headers.get('access-control-allow-credentials')).toBe('true');
      expect(response.headers.get('access-control-expose-headers')).toBe('X-Request-Id, X-Total');
      expect(response.headers.get('x-request-id')).toBe('42');
      expect(varyOf(response)).toEqual(['origin']);
    });

    it('lets the app answer another origin but adds no allow headers, only Vary: Origin', async () => {
      await serveWith(options);
      const response = await get('/hello', 'https://evil.example');
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('GET /hello');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(response.headers.get('access-control-allow-credentials')).toBeNull();
      expect(response.headers.get('access-control-expose-headers')).toBeNull();
      expect(varyOf(response)).toEqual(['origin']);
    });

    it('adds Vary: Origin to a request without Origin, since the answer differs by origin', async () => {
      await serveWith(options);
      const response = await get('/hello');
      expect(await response.text()).toBe('GET /hello');
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
      expect(varyOf(response)).toEqual(['origin']);
    });

    it("appends Origin to the app's own Vary header", async () => {
      await serveWith(options);
      const response = await get('/vary', SITE);
      expect(response.headers.get('vary')).toBe('Accept-Encoding, Origin');
    });

    it("replaces an Access-Control-Allow-Origin the app set itself: one answer, not two", async () => {
      await serveWith(options);
      const response = await get('/stale', SITE);
      expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
    });
  });

  describe('other origin forms', () => {
    it('a single origin string: matched as browsers send it (case and default port normalised)', async () => {
      await serveWith({ origin: 'HTTPS://App.Example:443' });
      expect((await get('/hello', SITE)).headers.get('access-control-allow-origin')).toBe(SITE);
      expect((await get('/hello', 'https://app.example:8443')).headers.get('access-control-allow-origin')).toBeNull();
    });

    it('a function decides per origin; the allowed origin is echoed with Vary: Origin', async () => {
      const asked: string[] = [];
      await serveWith({
        origin: (origin) => {
          asked.push(origin);
          return origin.endsWith('.fn.example');
        },
      });
      const allowed = await get('/hello', 'https://a.fn.example');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://a.fn.example');
      expect(varyOf(allowed)).toEqual(['origin']);
      const refused = await get('/hello', 'https://fn.example.evil');
      expect(refused.headers.get('access-control-allow-origin')).toBeNull();
      const refusedPreflight = await preflight('/hello', 'https://fn.example.evil', 'GET');
      expect(refusedPreflight.status).toBe(403);
      expect(asked).toEqual(['https://a.fn.example', 'https://fn.example.evil', 'https://fn.example.evil']);
    });

    it('a global RegExp keeps matching on every request (no lastIndex carried over)', async () => {
      await serveWith({ origin: /^https:\/\/app\.example$/g });
      for (let i = 0; i < 3; i++) {
        expect((await get('/hello', SITE)).headers.get('access-control-allow-origin')).toBe(SITE);
      }
    });
  });

  it('passes a streamed body through chunk by chunk with the CORS headers on its head', async () => {
    await serveWith({ origin: SITE, exposeHeaders: ['X-Total'] });
    const response = await get('/stream', SITE);
    // The head arrived while the app still waits to send its second chunk: nothing was buffered.
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(response.headers.get('access-control-expose-headers')).toBe('X-Total');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text.length < 'first;'.length) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('first;');
    seen.gate.open();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text).toBe('first;second');
  });
});

describe('cors() around an event app: websockets and lifespan', () => {
  it('passes websockets through untouched, whatever their Origin, and runs the lifespan', async () => {
    const seen: Seen = { calls: [], gate: newGate(), lifespanStarted: false };
    server = await startServer(cors(eventApp(seen), { origin: SITE, credentials: true }), 'llhttp', { lifespan: 'on' });
    expect(seen.lifespanStarted).toBe(true);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket`, { headers: { Origin: 'https://evil.example' } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('hi'));
      ws.once('message', (data) => resolve((data as Buffer).toString('utf8')));
      ws.once('error', reject);
    });
    expect(reply).toBe('echo hi');
    ws.close();
  });
});

describe('cors() around a gateway app: the legacy startResponse paths', () => {
  it('keeps write() working and adds the headers to the response it starts', async () => {
    const app: GatewayApp = (_environ, startResponse) => {
      const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
      write('written;');
      write(new TextEncoder().encode('bytes;'));
      return ['returned'];
    };
    server = await startServer(cors(app, { origin: SITE }), 'llhttp');
    const response = await get('/', SITE);
    expect(await response.text()).toBe('written;bytes;returned');
    expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(varyOf(response)).toEqual(['origin']);
  });

  it('lets a second startResponse with excInfo replace status and headers, and adds the CORS headers to the new ones', async () => {
    const app: GatewayApp = (_environ, startResponse: StartResponse) => {
      startResponse('200 OK', [['Content-Type', 'application/json']]);
      try {
        throw new Error('rendering failed');
      } catch (error) {
        startResponse('500 Internal Server Error', [['Content-Type', 'text/plain']], error);
        return ['failed'];
      }
    };
    server = await startServer(cors(app, { origin: SITE, credentials: true }), 'llhttp');
    const response = await get('/', SITE);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('failed');
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('still refuses a second startResponse without excInfo (the server decides, not the wrapper)', async () => {
    let thrown: unknown = null;
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', []);
      try {
        startResponse('201 Created', []);
      } catch (error) {
        thrown = error;
      }
      return ['first wins'];
    };
    server = await startServer(cors(app, { origin: SITE }), 'llhttp');
    const response = await get('/', SITE);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('first wins');
    expect(String(thrown)).toMatch(/second time without excInfo/);
  });

  it("returns the app's body object itself: its close() runs exactly once", async () => {
    let closes = 0;
    const app: GatewayApp = (_environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return Object.assign(['closable'], { close: () => void closes++ });
    };
    server = await startServer(cors(app, { origin: SITE }), 'llhttp');
    const response = await get('/', SITE);
    expect(await response.text()).toBe('closable');
    expect(await eventually(() => closes === 1)).toBe(true);
    await server.close();
    server = null;
    expect(closes).toBe(1);
  });

  it('keeps a buffered app buffered: the synchronous read() of the body works through the wrapper', async () => {
    const app: GatewayApp = (environ, startResponse) => {
      const body = (environ['tsgi.input'] as { read(): Uint8Array }).read();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`read ${Buffer.from(body).toString('utf8')}`];
    };
    server = await startServer(cors(app, { origin: SITE }), 'llhttp');
    const response = await fetch(`${server.url}/`, { method: 'POST', headers: { Origin: SITE }, body: 'payload' });
    expect(await response.text()).toBe('read payload');
    expect(response.headers.get('access-control-allow-origin')).toBe(SITE);
  });
});

describe('cors() refuses mistakes when the app is wrapped', () => {
  const app: GatewayApp = (_environ, startResponse) => {
    startResponse('200 OK', []);
    return [];
  };

  it("credentials with origin '*', which browsers reject", () => {
    expect(() => cors(app, { credentials: true })).toThrow(/credentials: true cannot be combined with origin '\*'/);
    expect(() => cors(app, { origin: ['*'], credentials: true })).toThrow(/cannot be combined/);
  });

  it('an origin with a path or trailing slash, or a wildcard inside, and says what to write', () => {
    expect(() => cors(app, { origin: 'https://app.example/' })).toThrow(/is not an origin.*use 'https:\/\/app\.example'/);
    expect(() => cors(app, { origin: ['https://*.example.com'] })).toThrow(/RegExp/);
  });

  it('an option name from another library, pointing at the right one', () => {
    expect(() => cors(app, { allowMethods: ['GET'] } as unknown as CorsOptions)).toThrow(/no option 'allowMethods'; did you mean 'methods'/);
  });

  it('a maxAge that is not a whole number of seconds, a method that is not a token, an app that is not a function', () => {
    expect(() => cors(app, { maxAge: -1 })).toThrow(/maxAge/);
    expect(() => cors(app, { methods: ['GET POST'] })).toThrow(/methods entries/);
    expect(() => cors(undefined as unknown as GatewayApp)).toThrow(/cors\(\) needs an app/);
  });
});
