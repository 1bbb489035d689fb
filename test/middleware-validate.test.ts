/**
 * validate(app): tsgi's wsgiref.validate (src/middleware/validate/).
 *
 * 1. Correct apps of both interfaces (gateway buffered and streaming; event http, websocket and
 *    lifespan) run through validate() on a real server of every backend: served as without it,
 *    and onViolation is never called, so neither the apps nor any server trips a rule.
 * 2. App-side rules: a deliberately broken app on a real llhttp server. The violation names the
 *    rule, its section and the app's side, and the client sees what the server does with a
 *    faulty app (a 500, a cut connection, a refused handshake, a failed start-up).
 * 3. Server-side rules: the wrapped app called directly with a hand-built environ, scope,
 *    receive() or send() that breaks the contract (the fake server is the input under test).
 */
import { Buffer } from 'node:buffer';
import { fetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { inputModeOf } from '../src/core/gateway.js';
import { isEventApp } from '../src/middleware/shared/kind.js';
import { ContractViolation, validate } from '../src/middleware/validate/index.js';
import {
  defineEventApp,
  type Environ,
  type ErrorStream,
  type EventApp,
  type GatewayApp,
  type HeaderPair,
  type InputStream,
  type Receive,
  type ReceiveMessage,
  type Scope,
  type Send,
  type SendMessage,
  type StartResponse,
} from '../src/index.js';
import { describeBackends, eventually, startServer, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';
import { connect, refused, TestClient, wsUrl } from './ws-client.js';

// --- helpers ---------------------------------------------------------------------------------

/** Collects violations; `first()` waits for one without polling. */
class Recorder {
  violations: ContractViolation[] = [];
  private waiters: Array<(violation: ContractViolation) => void> = [];
  readonly onViolation = (violation: ContractViolation): void => {
    this.violations.push(violation);
    for (const waiter of this.waiters.splice(0)) waiter(violation);
  };
  first(): Promise<ContractViolation> {
    const seen = this.violations[0];
    return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push(resolve));
  }
  reset(): void {
    this.violations = [];
  }
  /** The violations as `rule side section`, for readable assertions. */
  get summary(): string[] {
    return this.violations.map((violation) => `${violation.rule} ${violation.side} ${violation.section}`);
  }
}

type Outcome = { status: number; body: string } | 'aborted';

/** What an HTTP client sees: the status and whole body, or a connection cut before the end. */
async function outcome(url: string, init?: Parameters<typeof fetch>[1]): Promise<Outcome> {
  try {
    const response = await fetch(url, init);
    return { status: response.status, body: await response.text() };
  } catch {
    return 'aborted';
  }
}

/** Tells when an event app's call finished, after validate()'s own end-of-call checks. */
function tracked(app: EventApp): { app: EventApp; finished(type: Scope['type']): Promise<void> } {
  const waiters = new Map<string, Array<() => void>>();
  const wrapped = defineEventApp(async (scope, receive, send) => {
    try {
      await app(scope, receive, send);
    } finally {
      for (const waiter of waiters.get(scope.type)?.splice(0) ?? []) waiter();
    }
  });
  return {
    app: wrapped,
    finished: (type) =>
      new Promise<void>((resolve) => {
        const list = waiters.get(type) ?? [];
        list.push(resolve);
        waiters.set(type, list);
      }),
  };
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

// --- 1. correct apps on every backend ------------------------------------------------------------

/** A buffered gateway app using every part of the contract correctly. */
function correctGatewayApp(closed: { count: number; signal: () => void }): GatewayApp {
  return (environ, startResponse) => {
    const path = environ.PATH_INFO;
    if (path === '/array') {
      startResponse('200 OK', [
        ['Content-Type', 'text/plain'],
        ['Content-Length', '5'],
      ]);
      return ['hello'];
    }
    if (path === '/read') {
      const input = environ['tsgi.input'];
      const first = input.readline();
      const rest = input.readlines();
      const tail = input.read(10);
      const errors = environ['tsgi.errors'];
      errors.write('validate-test: read\n');
      errors.writelines(['validate-test: ', 'lines\n']);
      errors.flush();
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${text(first).trim()}|${rest.map(text).join('').replace(/\n/g, ',')}|${tail.byteLength}|${environ.HTTP_X_CUSTOM as string}`];
    }
    if (path === '/lazy') {
      // startResponse during the first iteration (§5), a close() the server must call once.
      function* chunks(): Generator<string | Uint8Array> {
        startResponse('200 OK', [['X-Lazy', 'yes']]);
        yield '';
        yield 'a';
        yield Buffer.from('b');
      }
      const generator = chunks();
      return {
        [Symbol.iterator]: () => generator,
        close() {
          closed.count++;
          closed.signal();
        },
      };
    }
    if (path === '/write') {
      const write = startResponse('200 OK', [['Content-Type', 'text/plain']]);
      write('x');
      write(Buffer.from('y'));
      return ['z'];
    }
    if (path === '/retry') {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      try {
        throw new Error('the database went away');
      } catch (error) {
        // A second call WITH excInfo replaces the head that has not gone out (§5).
        startResponse('503 Service Unavailable', [['Content-Type', 'text/plain']], error);
      }
      return ['try later'];
    }
    if (path === '/empty') {
      startResponse('204 No Content', []);
      return [];
    }
    startResponse('404 Not Found', [['Content-Type', 'text/plain']]);
    return ['not found'];
  };
}

/** An async (streaming input) gateway app. */
async function streamingGatewayApp(environ: Environ, startResponse: StartResponse): Promise<AsyncIterable<string | Uint8Array>> {
  if (environ.PATH_INFO === '/sync-read') {
    let message = 'read() worked';
    try {
      environ['tsgi.input'].read();
    } catch (error) {
      message = (error as Error).message;
    }
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return (async function* () {
      yield message;
    })();
  }
  let bytes = 0;
  let chunks = 0;
  for await (const chunk of environ['tsgi.input']) {
    bytes += chunk.byteLength;
    chunks++;
  }
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return (async function* () {
    yield `received ${bytes} bytes`;
    yield new Uint8Array([33]);
    if (chunks === 0) yield '';
  })();
}

/** An event app speaking http (streaming both ways), websocket and lifespan correctly. */
function correctEventApp(lifespan: string[]): EventApp {
  return defineEventApp(async (scope, receive, send) => {
    if (scope.type === 'lifespan') {
      for (;;) {
        const message = await receive();
        if (message.type === 'lifespan.startup') {
          scope.state.greeting = 'hi';
          lifespan.push('startup');
          await send({ type: 'lifespan.startup.complete' });
        } else {
          lifespan.push('shutdown');
          await send({ type: 'lifespan.shutdown.complete' });
          return;
        }
      }
    }
    if (scope.type === 'websocket') {
      await receive();
      await send({ type: 'websocket.accept', subprotocol: scope.subprotocols.includes('chat') ? 'chat' : null, headers: [['x-validated', 'yes']] });
      for (;;) {
        const message = await receive();
        if (message.type !== 'websocket.receive') return;
        if (message.text === 'bye') await send({ type: 'websocket.close', code: 4000, reason: 'bye' });
        else if (message.text !== undefined) await send({ type: 'websocket.send', text: message.text.toUpperCase() });
        else await send({ type: 'websocket.send', bytes: message.bytes! });
      }
    }
    let size = 0;
    for (;;) {
      const message = await receive();
      if (message.type !== 'http.request') break;
      size += message.body.byteLength;
      if (!message.more_body) break;
    }
    if (scope.path === '/whole') {
      const body = `got ${size} bytes, ${scope.state.greeting as string}`;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain'], ['content-length', String(body.length)]] });
      await send({ type: 'http.response.body', body });
      return;
    }
    if (scope.path === '/stream') {
      const trailers = scope.extensions['http.response.trailers'] !== undefined;
      // Headers as a one-shot iterable (allowed, §9): the validator must pass them on intact.
      function* headers(): Generator<[string, string]> {
        yield ['content-type', 'text/plain'];
        yield ['x-streamed', 'yes'];
      }
      await send({ type: 'http.response.start', status: 200, headers: headers(), trailers });
      for (const part of ['a', 'b', 'c']) await send({ type: 'http.response.body', body: Buffer.from(part), more_body: true });
      await send({ type: 'http.response.body', body: '', more_body: false });
      if (trailers) await send({ type: 'http.response.trailers', headers: [['x-checksum', 'abc']] });
      return;
    }
    await send({ type: 'http.response.start', status: 404 });
    await send({ type: 'http.response.body' });
  });
}

describeBackends('validate() on %s: correct apps are served as usual and trip no rule', (backend) => {
  const recorder = new Recorder();
  const closed = { count: 0, signal: () => {} };
  const lifespan: string[] = [];
  const event = tracked(correctEventApp(lifespan));
  let gateway: TestServer;
  let streaming: TestServer;
  let events: TestServer | null = null;

  beforeAll(async () => {
    gateway = await startServer(validate(correctGatewayApp(closed), { onViolation: recorder.onViolation }), backend);
    streaming = await startServer(validate(streamingGatewayApp, { onViolation: recorder.onViolation }), backend);
    events = await startServer(validate(event.app, { onViolation: recorder.onViolation }), backend, { lifespan: 'on' });
  });
  afterAll(async () => {
    await gateway?.close();
    await streaming?.close();
    await events?.close();
  });
  afterEach(() => {
    expect(recorder.summary).toEqual([]);
  });

  it('keeps the interface and the input mode of the app it wraps', () => {
    expect(inputModeOf(validate(correctGatewayApp(closed)))).toBe('buffered');
    expect(inputModeOf(validate(streamingGatewayApp))).toBe('stream');
    expect(isEventApp(validate(event.app))).toBe(true);
  });

  it('gateway: an array body keeps its Content-Length; HEAD and 204 as usual', async () => {
    const response = await fetch(`${gateway.url}/array`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('5');
    expect(await response.text()).toBe('hello');
    const head = await fetch(`${gateway.url}/array`, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe('5');
    expect(await head.text()).toBe('');
    expect((await fetch(`${gateway.url}/empty`)).status).toBe(204);
  });

  it("gateway: read(), readline(), readlines() and tsgi.errors work through the checked views", async () => {
    const response = await outcome(`${gateway.url}/read`, { method: 'POST', body: 'one\ntwo\nthree', headers: { 'X-Custom': 'v' } });
    expect(response).toEqual({ status: 200, body: 'one|two,three|0|v' });
    expect(gateway.errors.join('')).toContain('validate-test: read\nvalidate-test: lines\n');
  });

  it('gateway: a generator that starts the response lazily, with close() called once', async () => {
    const done = new Promise<void>((resolve) => (closed.signal = resolve));
    const response = await fetch(`${gateway.url}/lazy`);
    expect(response.headers.get('x-lazy')).toBe('yes');
    expect(await response.text()).toBe('ab');
    await done;
    expect(closed.count).toBe(1);
  });

  it('gateway: write() before the body, and a second startResponse with excInfo', async () => {
    expect(await outcome(`${gateway.url}/write`)).toEqual({ status: 200, body: 'xyz' });
    expect(await outcome(`${gateway.url}/retry`)).toEqual({ status: 503, body: 'try later' });
  });

  it('gateway, stream mode: a 1 MiB upload iterated from tsgi.input, an async generator body', async () => {
    const body = Buffer.alloc(1024 * 1024, 7);
    expect(await outcome(`${streaming.url}/upload`, { method: 'POST', body })).toEqual({ status: 200, body: `received ${body.byteLength} bytes!` });
    expect(await outcome(`${streaming.url}/none`)).toEqual({ status: 200, body: 'received 0 bytes!' });
  });

  it("gateway, stream mode: read() of a body still arriving throws the server's own error", async () => {
    const conn = await RawConn.open(streaming.port);
    try {
      conn.write('POST /sync-read HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc');
      const response = await conn.read();
      expect(response.status).toBe(200);
      expect(response.body.toString()).toContain('cannot wait for a streamed request body');
    } finally {
      conn.destroy();
    }
  });

  it('event http: a whole response, a streamed one (iterable headers, trailers where offered), a 404', async () => {
    const finished = event.finished('http');
    expect(await outcome(`${events!.url}/whole`, { method: 'POST', body: 'x'.repeat(100_000) })).toEqual({ status: 200, body: 'got 100000 bytes, hi' });
    await finished;
    const streamed = event.finished('http');
    const response = await fetch(`${events!.url}/stream`);
    expect(response.headers.get('x-streamed')).toBe('yes');
    expect(await response.text()).toBe('abc');
    await streamed;
    const head = event.finished('http');
    const headResponse = await fetch(`${events!.url}/whole`, { method: 'HEAD' });
    expect(headResponse.headers.get('content-length')).toBe(String('got 0 bytes, hi'.length));
    await head;
    expect((await fetch(`${events!.url}/missing`)).status).toBe(404);
  });

  it('event websocket: subprotocol, accept headers, text and binary echo, the app closing', async () => {
    const finished = event.finished('websocket');
    const client = new TestClient(wsUrl(events!.port, '/ws'), ['chat']);
    const opened = await client.opened;
    expect(opened.headers['sec-websocket-protocol']).toBe('chat');
    expect(opened.headers['x-validated']).toBe('yes');
    client.send('hi');
    expect(await client.next()).toBe('HI');
    client.send(new Uint8Array([1, 2, 3]));
    expect([...(await client.next() as Buffer)]).toEqual([1, 2, 3]);
    client.send('bye');
    expect(await client.closed).toEqual({ code: 4000, reason: 'bye' });
    await finished;
  });

  it('event websocket: the client closing', async () => {
    const finished = event.finished('websocket');
    const client = await connect(wsUrl(events!.port, '/ws'));
    client.send('x');
    expect(await client.next()).toBe('X');
    await client.close(1000, 'done');
    await finished;
  });

  it('lifespan: startup before serving, shutdown on close', async () => {
    expect(lifespan).toEqual(['startup']);
    const finished = event.finished('lifespan');
    await events!.close();
    events = null;
    await finished;
    expect(lifespan).toEqual(['startup', 'shutdown']);
  });
});

// --- 2. app-side rules, on a real server ---------------------------------------------------------

interface GatewayCase {
  rule: string;
  section: string;
  name: string;
  app: GatewayApp;
  /** What the client sees: the server's 500, or a cut connection once bytes went out. */
  client: 500 | 'aborted';
  method?: string;
  body?: string;
}

const bad = <T>(value: unknown): T => value as T;

function* lazyChunks(startResponse: StartResponse, chunks: unknown[], start = true): Generator<string | Uint8Array> {
  if (start) startResponse('200 OK', [['Content-Type', 'text/plain']]);
  for (const chunk of chunks) yield chunk as string;
}

const gatewayCases: GatewayCase[] = [
  { rule: 'start-response.status', section: '§5', name: 'a status below 200', client: 500, app: (_e, sr) => (sr('99 Too Low', []), ['x']) },
  { rule: 'start-response.status', section: '§5', name: 'a status without a reason', client: 500, app: (_e, sr) => (sr('200', []), ['x']) },
  { rule: 'start-response.status', section: '§5', name: 'a status as a number', client: 500, app: (_e, sr) => (sr(bad(200), []), ['x']) },
  { rule: 'start-response.status', section: '§5', name: 'a reason beyond ASCII', client: 500, app: (_e, sr) => (sr('200 Caf\u00e9', []), ['x']) },
  { rule: 'start-response.headers', section: '§5', name: 'headers not an array', client: 500, app: (_e, sr) => (sr('200 OK', bad({ 'Content-Type': 'text/plain' })), ['x']) },
  { rule: 'start-response.headers', section: '§5', name: 'a header value that is a number', client: 500, app: (_e, sr) => (sr('200 OK', bad([['X-Count', 1]])), ['x']) },
  { rule: 'start-response.header-name', section: '§5', name: 'a header name with a space', client: 500, app: (_e, sr) => (sr('200 OK', [['Bad Name', 'x']]), ['x']) },
  { rule: 'start-response.header-value', section: '§5', name: 'CR LF in a value', client: 500, app: (_e, sr) => (sr('200 OK', [['X-A', 'a\r\nSet-Cookie: b=1']]), ['x']) },
  { rule: 'start-response.header-value', section: '§5', name: 'a value beyond ASCII', client: 500, app: (_e, sr) => (sr('200 OK', [['X-A', 'caf\u00e9']]), ['x']) },
  { rule: 'start-response.hop-by-hop', section: '§5', name: 'Connection', client: 500, app: (_e, sr) => (sr('200 OK', [['Connection', 'close']]), ['x']) },
  { rule: 'start-response.hop-by-hop', section: '§5', name: 'Transfer-Encoding', client: 500, app: (_e, sr) => (sr('200 OK', [['Transfer-Encoding', 'chunked']]), ['x']) },
  { rule: 'start-response.content-length', section: '§5', name: 'a negative Content-Length', client: 500, app: (_e, sr) => (sr('200 OK', [['Content-Length', '-1']]), ['x']) },
  { rule: 'start-response.content-length', section: '§5', name: 'two different Content-Lengths', client: 500, app: (_e, sr) => (sr('200 OK', [['Content-Length', '1'], ['content-length', '2']]), ['x']) },
  {
    rule: 'start-response.second-call',
    section: '§5',
    name: 'a second call without excInfo',
    client: 500,
    app: (_e, sr) => {
      sr('200 OK', []);
      sr('404 Not Found', []);
      return ['x'];
    },
  },
  { rule: 'app.return', section: '§1', name: 'a bare string', client: 500, app: (_e, sr) => (sr('200 OK', []), bad('hello')) },
  { rule: 'app.return', section: '§1', name: 'null', client: 500, app: (_e, sr) => (sr('200 OK', []), bad(null)) },
  { rule: 'app.return', section: '§1', name: 'a number', client: 500, app: (_e, sr) => (sr('200 OK', []), bad(42)) },
  { rule: 'app.return', section: '§1', name: 'a bare Uint8Array', client: 500, app: (_e, sr) => (sr('200 OK', []), bad(Buffer.from('x'))) },
  { rule: 'app.return', section: '§1', name: 'a promise of a string', client: 500, app: (_e, sr) => (sr('200 OK', []), Promise.resolve(bad('x'))) },
  { rule: 'start-response.missing', section: '§5', name: 'an array without startResponse', client: 500, app: () => ['x'] },
  { rule: 'start-response.missing', section: '§5', name: 'an empty array without startResponse', client: 500, app: () => [] },
  { rule: 'start-response.missing', section: '§5', name: 'a generator that never starts', client: 500, app: (_e, sr) => lazyChunks(sr, ['x'], false) },
  { rule: 'body.chunk', section: '§1', name: 'an object in an array', client: 500, app: (_e, sr) => (sr('200 OK', []), bad([{ a: 1 }])) },
  { rule: 'body.chunk', section: '§1', name: 'a number from a generator', client: 500, app: (_e, sr) => lazyChunks(sr, [42]) },
  {
    rule: 'body.chunk',
    section: '§1',
    name: 'a number from an async generator, after a chunk went out',
    client: 'aborted',
    app: (_e, sr) => {
      sr('200 OK', [['Content-Type', 'text/plain']]);
      return (async function* () {
        yield 'first';
        yield bad<string>(42);
      })();
    },
  },
  {
    rule: 'write.chunk',
    section: '§1',
    name: 'write() of a number',
    client: 500,
    app: (_e, sr) => {
      const write = sr('200 OK', []);
      write(bad(42));
      return [];
    },
  },
  { rule: 'body.content-length', section: '§6', name: 'a body longer than its Content-Length', client: 500, app: (_e, sr) => (sr('200 OK', [['Content-Length', '3']]), ['hello']) },
  {
    rule: 'body.content-length',
    section: '§6',
    name: 'a body shorter than its Content-Length',
    client: 'aborted',
    app: (_e, sr) => {
      sr('200 OK', [['Content-Length', '10']]);
      return lazyChunks(sr, ['hello'], false);
    },
  },
  {
    rule: 'input.read-size',
    section: '§3',
    name: 'read() with a string size',
    client: 500,
    method: 'POST',
    body: 'abc',
    app: (environ, sr) => {
      environ['tsgi.input'].read(bad('2'));
      sr('200 OK', []);
      return ['x'];
    },
  },
  {
    rule: 'errors.write',
    section: '§4',
    name: 'tsgi.errors.write() of a number',
    client: 500,
    app: (environ, sr) => {
      environ['tsgi.errors'].write(bad(42));
      sr('200 OK', []);
      return ['x'];
    },
  },
  {
    rule: 'errors.write',
    section: '§4',
    name: 'tsgi.errors.writelines() with a number in it',
    client: 500,
    app: (environ, sr) => {
      environ['tsgi.errors'].writelines(bad(['ok', 1]));
      sr('200 OK', []);
      return ['x'];
    },
  },
];

describe('validate(): each app-side rule of a gateway app, on a real llhttp server', () => {
  const recorder = new Recorder();
  const routes = new Map<string, GatewayApp>();
  let server: TestServer;
  beforeAll(async () => {
    gatewayCases.forEach((testCase, index) => routes.set(`/case/${index}`, testCase.app));
    routes.set('/swallowed', (_environ, startResponse) => {
      try {
        startResponse('2OO OK', []);
      } catch {
        // The app hides the violation; onViolation still saw it.
      }
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return ['fine'];
    });
    const router: GatewayApp = (environ, startResponse) => routes.get(environ.PATH_INFO)!(environ, startResponse);
    server = await startServer(validate(router, { onViolation: recorder.onViolation }), 'llhttp');
  });
  afterAll(() => server?.close());
  beforeEach(() => recorder.reset());

  it.each(gatewayCases.map((testCase, index) => ({ ...testCase, index })))('$rule: $name', async ({ rule, section, client, index, method, body }) => {
    const seen = await outcome(`${server.url}/case/${index}`, { method: method ?? 'GET', ...(body === undefined ? {} : { body }) });
    if (client === 500) expect(seen).toMatchObject({ status: 500 });
    else expect(seen).toBe('aborted');
    const violation = await recorder.first();
    expect(violation).toBeInstanceOf(ContractViolation);
    expect(recorder.summary).toEqual([`${rule} app ${section}`]);
    expect(violation.message).toMatch(new RegExp(`^tsgi contract \\(docs/spec\\.md ${section}\\): .+ — .+`));
  });

  it('onViolation sees a violation the app caught and swallowed', async () => {
    expect(await outcome(`${server.url}/swallowed`)).toEqual({ status: 200, body: 'fine' });
    expect(recorder.summary).toEqual(['start-response.status app §5']);
    expect(recorder.violations[0]!.message).toContain('"2OO OK"');
  });
});

type Handler = (scope: Scope, receive: Receive, send: Send) => Promise<void>;

interface EventCase {
  rule: string;
  section: string;
  name: string;
  handler: Handler;
  /** The client: a 500, a cut connection, or the whole response (the violation came after it ended). */
  client: 500 | 'aborted' | 'complete';
}

const started = (send: Send, extra: Partial<SendMessage> = {}) => send({ type: 'http.response.start', status: 200, ...extra } as SendMessage);
const sendBody = (send: Send, extra: Record<string, unknown> = {}) => send({ type: 'http.response.body', ...extra } as SendMessage);

const httpCases: EventCase[] = [
  { rule: 'send.message', section: '§9', name: 'send(null)', client: 500, handler: async (_s, _r, send) => send(bad(null)) },
  { rule: 'send.message', section: '§9', name: 'a message without a type', client: 500, handler: async (_s, _r, send) => send(bad({ status: 200 })) },
  { rule: 'send.type', section: '§10', name: 'a websocket message on http', client: 500, handler: async (_s, _r, send) => send({ type: 'websocket.send', text: 'x' }) },
  { rule: 'response-start.twice', section: '§10', name: 'two starts', client: 500, handler: async (_s, _r, send) => (await started(send), started(send)) },
  { rule: 'response-start.status', section: '§10', name: 'status 99', client: 500, handler: async (_s, _r, send) => started(send, { status: 99 }) },
  { rule: 'response-start.status', section: '§10', name: 'status 200.5', client: 500, handler: async (_s, _r, send) => started(send, { status: 200.5 }) },
  { rule: 'response-start.status', section: '§10', name: "status '200'", client: 500, handler: async (_s, _r, send) => started(send, { status: bad('200') }) },
  { rule: 'response-start.headers', section: '§10', name: 'headers not iterable', client: 500, handler: async (_s, _r, send) => started(send, { headers: bad(42) }) },
  { rule: 'response-start.headers', section: '§10', name: 'a pair of three', client: 500, handler: async (_s, _r, send) => started(send, { headers: bad([['a', 'b', 'c']]) }) },
  { rule: 'response-start.header-name', section: '§10', name: 'a name with a colon', client: 500, handler: async (_s, _r, send) => started(send, { headers: [['x:y', 'v']] }) },
  { rule: 'response-start.header-value', section: '§10', name: 'LF in a value', client: 500, handler: async (_s, _r, send) => started(send, { headers: [['x-a', 'a\nb']] }) },
  {
    rule: 'response-start.header-value',
    section: '§10',
    name: 'NUL in a Uint8Array value',
    client: 500,
    handler: async (_s, _r, send) => started(send, { headers: bad([[Buffer.from('x-a'), Buffer.from([0x61, 0x00])]]) }),
  },
  { rule: 'response-start.hop-by-hop', section: '§10', name: 'keep-alive', client: 500, handler: async (_s, _r, send) => started(send, { headers: [['keep-alive', 'timeout=5']] }) },
  { rule: 'response-start.content-length', section: '§10', name: "content-length 'abc'", client: 500, handler: async (_s, _r, send) => started(send, { headers: [['content-length', 'abc']] }) },
  { rule: 'response-start.trailers', section: '§10', name: "trailers: 'yes'", client: 500, handler: async (_s, _r, send) => started(send, { trailers: bad('yes') }) },
  {
    rule: 'response-start.trailers',
    section: '§10',
    name: 'trailers with a Content-Length',
    client: 500,
    handler: async (_s, _r, send) => started(send, { trailers: true, headers: [['content-length', '1']] }),
  },
  { rule: 'response-body.before-start', section: '§10', name: 'a body first', client: 500, handler: async (_s, _r, send) => sendBody(send, { body: 'x' }) },
  { rule: 'response-body.body', section: '§10', name: 'a number as body', client: 500, handler: async (_s, _r, send) => (await started(send), sendBody(send, { body: 42 })) },
  { rule: 'response-body.more-body', section: '§10', name: "more_body: 'yes'", client: 500, handler: async (_s, _r, send) => (await started(send), sendBody(send, { more_body: 'yes' })) },
  {
    rule: 'response-body.after-end',
    section: '§10',
    name: 'a body after the last one',
    client: 'complete',
    handler: async (_s, _r, send) => {
      await started(send);
      await sendBody(send, { body: 'done' });
      await sendBody(send, { body: 'more' });
    },
  },
  {
    rule: 'response-body.content-length',
    section: '§10',
    name: 'past the Content-Length',
    client: 500,
    handler: async (_s, _r, send) => (await started(send, { headers: [['content-length', '3']] }), sendBody(send, { body: 'hello' })),
  },
  {
    rule: 'response-body.content-length',
    section: '§10',
    name: 'short of the Content-Length, streamed',
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send, { headers: [['content-length', '10']] });
      await sendBody(send, { body: 'he', more_body: true });
      await sendBody(send, { body: 'llo' });
    },
  },
  {
    rule: 'response-trailers.unannounced',
    section: '§10',
    name: 'trailers without trailers: true',
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send);
      await sendBody(send, { body: 'x', more_body: true });
      await send({ type: 'http.response.trailers', headers: [] });
    },
  },
  {
    rule: 'response-trailers.order',
    section: '§10',
    name: 'trailers before the last body',
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send, { trailers: true });
      await sendBody(send, { body: 'x', more_body: true });
      await send({ type: 'http.response.trailers', headers: [] });
    },
  },
  {
    rule: 'response-trailers.header-value',
    section: '§10',
    name: 'a trailer value with CR',
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send, { trailers: true });
      await sendBody(send, { body: 'x', more_body: true });
      await sendBody(send, { body: 'y' });
      await send({ type: 'http.response.trailers', headers: [['x-sum', 'a\rb']] });
    },
  },
  {
    rule: 'response-trailers.more-trailers',
    section: '§10',
    name: "more_trailers: 'no'",
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send, { trailers: true });
      await sendBody(send, { body: 'x', more_body: true });
      await sendBody(send, { body: 'y' });
      await send(bad({ type: 'http.response.trailers', more_trailers: 'no' }));
    },
  },
  { rule: 'http.incomplete', section: '§10', name: 'returning after the start only', client: 500, handler: async (_s, _r, send) => void (await started(send)) },
  {
    rule: 'http.incomplete',
    section: '§10',
    name: 'returning with more_body still true',
    client: 'aborted',
    handler: async (_s, _r, send) => {
      await started(send);
      await sendBody(send, { body: 'x', more_body: true });
    },
  },
];

interface WebSocketCase {
  rule: string;
  name: string;
  handler: Handler;
  /** The client: the handshake refused with a 500, or the connection closed with this code. */
  client: 500 | number;
  protocols?: string[];
}

const accept = (send: Send, extra: Record<string, unknown> = {}) => send({ type: 'websocket.accept', ...extra } as SendMessage);

const webSocketCases: WebSocketCase[] = [
  { rule: 'send.type', name: 'an http message on a websocket', client: 500, handler: async (_s, r, send) => (await r(), started(send)) },
  { rule: 'websocket-send.before-accept', name: 'a message before accepting', client: 500, handler: async (_s, r, send) => (await r(), send({ type: 'websocket.send', text: 'x' })) },
  { rule: 'websocket-accept.twice', name: 'two accepts', client: 1011, handler: async (_s, r, send) => (await r(), await accept(send), accept(send)) },
  { rule: 'websocket-accept.subprotocol', name: 'a subprotocol the client did not offer', client: 500, protocols: ['a'], handler: async (_s, r, send) => (await r(), accept(send, { subprotocol: 'b' })) },
  { rule: 'websocket-accept.header-value', name: 'an accept header with CR', client: 500, handler: async (_s, r, send) => (await r(), accept(send, { headers: [['x-a', '\r']] })) },
  { rule: 'websocket-send.payload', name: 'both text and bytes', client: 1011, handler: async (_s, r, send) => (await r(), await accept(send), send(bad({ type: 'websocket.send', text: 'a', bytes: Buffer.from('b') }))) },
  { rule: 'websocket-send.payload', name: 'neither text nor bytes', client: 1011, handler: async (_s, r, send) => (await r(), await accept(send), send({ type: 'websocket.send' })) },
  { rule: 'websocket-send.payload', name: 'bytes as a string', client: 1011, handler: async (_s, r, send) => (await r(), await accept(send), send(bad({ type: 'websocket.send', bytes: 'x' }))) },
  { rule: 'websocket-close.fields', name: "code '1000'", client: 1011, handler: async (_s, r, send) => (await r(), await accept(send), send(bad({ type: 'websocket.close', code: '1000' }))) },
  {
    rule: 'websocket.after-close',
    name: 'a message after closing (the client sees the close the app sent)',
    client: 4001,
    handler: async (_s, r, send) => {
      await r();
      await accept(send);
      await send({ type: 'websocket.close', code: 4001 });
      await send({ type: 'websocket.send', text: 'late' });
    },
  },
  { rule: 'websocket.incomplete', name: 'returning without accepting or refusing', client: 500, handler: async (_s, r) => void (await r()) },
];

describe('validate(): each app-side rule of an event app, on a real llhttp server', () => {
  const recorder = new Recorder();
  const routes = new Map<string, Handler>();
  let server: TestServer;
  beforeAll(async () => {
    httpCases.forEach((testCase, index) => routes.set(`/http/${index}`, testCase.handler));
    webSocketCases.forEach((testCase, index) => routes.set(`/ws/${index}`, testCase.handler));
    routes.set('/swallowed', async (_scope, _receive, send) => {
      await send(bad({ type: 'http.response.start', status: 200, headers: [['x-a', 'b\n']] })).catch(() => undefined);
      await started(send, { headers: [['content-type', 'text/plain']] });
      await sendBody(send, { body: 'fine' });
    });
    const router = defineEventApp((scope, receive, send) => routes.get((scope as { path: string }).path)!(scope, receive, send));
    server = await startServer(validate(router, { onViolation: recorder.onViolation }), 'llhttp', { lifespan: 'off' });
  });
  afterAll(() => server?.close());
  beforeEach(() => recorder.reset());

  it.each(httpCases.map((testCase, index) => ({ ...testCase, index })))('http $rule: $name', async ({ rule, section, client, index }) => {
    const seen = await outcome(`${server.url}/http/${index}`);
    if (client === 500) expect(seen).toMatchObject({ status: 500 });
    else if (client === 'aborted') expect(seen).toBe('aborted');
    else expect(seen).toEqual({ status: 200, body: 'done' });
    await recorder.first();
    expect(recorder.summary).toEqual([`${rule} app ${section}`]);
  });

  it('http response-start.trailers: trailers asked for where scope.extensions offers none (HTTP/1.0)', async () => {
    routes.set('/http10', async (scope, _receive, send) => {
      expect((scope as { extensions: object }).extensions).toEqual({});
      await started(send, { trailers: true });
    });
    const conn = await RawConn.open(server.port);
    try {
      conn.write('GET /http10 HTTP/1.0\r\n\r\n');
      expect((await conn.read()).status).toBe(500);
    } finally {
      conn.destroy();
    }
    expect(recorder.summary).toEqual(['response-start.trailers app §10']);
    expect(recorder.violations[0]!.message).toContain("scope.extensions has no 'http.response.trailers'");
  });

  it.each(webSocketCases.map((testCase, index) => ({ ...testCase, index })))('websocket $rule: $name', async ({ rule, client, index, protocols }) => {
    const url = wsUrl(server.port, `/ws/${index}`);
    if (client === 500) {
      expect((await refused(url, protocols)).status).toBe(500);
    } else {
      const ws = await connect(url, protocols);
      expect((await ws.closed).code).toBe(client);
    }
    await recorder.first();
    expect(recorder.summary).toEqual([`${rule} app §11`]);
  });

  it('onViolation sees a violation the app caught and swallowed', async () => {
    expect(await outcome(`${server.url}/swallowed`)).toEqual({ status: 200, body: 'fine' });
    expect(recorder.summary).toEqual(['response-start.header-value app §10']);
  });
});

describe('validate(): each app-side rule of the lifespan protocol, on a real llhttp server', () => {
  /** `starts`: the violation came after startup completed, so the server runs and logs it. */
  const cases: Array<{ rule: string; name: string; handler: Handler; starts?: boolean }> = [
    { rule: 'lifespan.startup-reply', name: 'startup.complete before lifespan.startup', handler: async (_s, _r, send) => send({ type: 'lifespan.startup.complete' }) },
    {
      rule: 'lifespan.startup-reply',
      name: 'startup answered twice',
      starts: true,
      handler: async (_s, receive, send) => {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        await send({ type: 'lifespan.startup.failed', message: 'changed my mind' });
      },
    },
    { rule: 'lifespan.shutdown-reply', name: 'shutdown.complete during startup', handler: async (_s, receive, send) => (await receive(), send({ type: 'lifespan.shutdown.complete' })) },
    { rule: 'lifespan.message', name: 'startup.failed with a number as message', handler: async (_s, receive, send) => (await receive(), send(bad({ type: 'lifespan.startup.failed', message: 42 }))) },
    { rule: 'send.type', name: 'an http message on the lifespan scope', handler: async (_s, receive, send) => (await receive(), started(send)) },
  ];

  it.each(cases)('$rule: $name', async ({ rule, handler, starts }) => {
    const recorder = new Recorder();
    const app = defineEventApp(async (scope: Scope, receive: Receive, send: Send) => {
      await handler(scope, receive, send);
      // Reached only when the app swallowed nothing: wait for shutdown, as a correct app would.
      await receive();
    });
    let server: TestServer | null = null;
    let failure: unknown = null;
    try {
      server = await startServer(validate(app, { onViolation: recorder.onViolation }), 'llhttp', { lifespan: 'on' });
      if (starts === true) {
        await recorder.first();
        // The server logs what the lifespan task raised while it runs (§12).
        const running = server;
        expect(await eventually(() => running.errors.join('').includes('tsgi contract (docs/spec.md §12)'))).toBe(true);
      }
    } catch (error) {
      failure = error;
    } finally {
      await server?.close().catch(() => undefined);
    }
    if (starts === true) expect(failure).toBeNull();
    else expect((failure as Error).message).toContain('tsgi contract (docs/spec.md §12)');
    expect(recorder.summary).toEqual([`${rule} app §12`]);
  });
});

// --- 3. server-side rules: a hand-built (broken) server ---------------------------------------

function fakeInput(body = ''): InputStream & { pulls: number } {
  const bytes = Buffer.from(body);
  let position = 0;
  const take = (count: number) => {
    const out = bytes.subarray(position, position + count);
    position += out.byteLength;
    return out;
  };
  const input = {
    pulls: 0,
    read: (size?: number) => take(size === undefined || size < 0 ? bytes.byteLength : size),
    readline: () => {
      const end = bytes.indexOf(10, position);
      return take(end === -1 ? bytes.byteLength : end + 1 - position);
    },
    readlines: () => {
      const lines: Uint8Array[] = [];
      for (let line = input.readline(); line.byteLength > 0; line = input.readline()) lines.push(line);
      return lines;
    },
    async *[Symbol.asyncIterator]() {
      for (const chunk of [bytes.subarray(0, 2), bytes.subarray(2)]) {
        input.pulls++;
        yield chunk;
      }
    },
  };
  return input;
}

function fakeErrors(lines: string[] = []): ErrorStream {
  return {
    write: (line) => void lines.push(line),
    writelines: (list) => {
      for (const line of list) lines.push(line);
    },
    flush: () => {},
  };
}

function goodEnviron(): Environ {
  return {
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_NAME: 'localhost',
    SERVER_PORT: '8000',
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_PORT: '51000',
    HTTP_HOST: 'localhost:8000',
    'tsgi.version': [1, 0],
    'tsgi.url_scheme': 'http',
    'tsgi.input': fakeInput(),
    'tsgi.errors': fakeErrors(),
    'tsgi.multithread': false,
    'tsgi.multiprocess': false,
    'tsgi.run_once': false,
    'tsgi.raw_path': '/',
  };
}

const fakeStartResponse: StartResponse = () => () => {};

/** Calls `app` through validate() as a server would, synchronously, and returns what it threw. */
function callGateway(app: GatewayApp, environ: unknown, startResponse: unknown = fakeStartResponse): { recorder: Recorder; thrown: unknown; result: unknown } {
  const recorder = new Recorder();
  const wrapped = validate(app, { onViolation: recorder.onViolation });
  try {
    return { recorder, thrown: undefined, result: wrapped(environ as Environ, startResponse as StartResponse) };
  } catch (error) {
    return { recorder, thrown: error, result: undefined };
  }
}

function expectServerViolation(thrown: unknown, recorder: Recorder, rule: string, section: string): void {
  expect(thrown).toBeInstanceOf(ContractViolation);
  const violation = thrown as ContractViolation;
  expect({ rule: violation.rule, side: violation.side, section: violation.section }).toEqual({ rule, side: 'server', section });
  expect(recorder.violations).toEqual([violation]);
}

const environCases: Array<{ rule: string; section: string; name: string; environ: () => unknown; startResponse?: unknown }> = [
  { rule: 'environ.type', section: '§2', name: 'null', environ: () => null },
  { rule: 'environ.type', section: '§2', name: 'a Map', environ: () => new Map(Object.entries(goodEnviron())) },
  { rule: 'start-response.type', section: '§5', name: 'startResponse not a function', environ: goodEnviron, startResponse: 42 },
  { rule: 'environ.required', section: '§2', name: 'no SERVER_NAME', environ: () => ({ ...goodEnviron(), SERVER_NAME: undefined }) },
  { rule: 'environ.required', section: '§2', name: 'REMOTE_PORT as a number', environ: () => ({ ...goodEnviron(), REMOTE_PORT: 51000 }) },
  { rule: 'environ.string', section: '§2', name: 'an HTTP_ value that is an array', environ: () => ({ ...goodEnviron(), HTTP_ACCEPT: ['a', 'b'] }) },
  { rule: 'environ.content-headers', section: '§2', name: 'HTTP_CONTENT_TYPE', environ: () => ({ ...goodEnviron(), HTTP_CONTENT_TYPE: 'text/plain' }) },
  { rule: 'environ.content-headers', section: '§2', name: 'HTTP_CONTENT_LENGTH', environ: () => ({ ...goodEnviron(), HTTP_CONTENT_LENGTH: '1' }) },
  { rule: 'environ.content-length', section: '§2', name: "CONTENT_LENGTH 'abc'", environ: () => ({ ...goodEnviron(), CONTENT_LENGTH: 'abc' }) },
  { rule: 'environ.request-method', section: '§2', name: "REQUEST_METHOD 'GE T'", environ: () => ({ ...goodEnviron(), REQUEST_METHOD: 'GE T' }) },
  { rule: 'environ.script-name', section: '§2', name: "SCRIPT_NAME without '/'", environ: () => ({ ...goodEnviron(), SCRIPT_NAME: 'app' }) },
  { rule: 'environ.script-name', section: '§2', name: "SCRIPT_NAME '/'", environ: () => ({ ...goodEnviron(), SCRIPT_NAME: '/' }) },
  { rule: 'environ.path-info', section: '§2', name: "PATH_INFO without '/'", environ: () => ({ ...goodEnviron(), PATH_INFO: 'index.html' }) },
  { rule: 'environ.path-info', section: '§2', name: 'SCRIPT_NAME and PATH_INFO both empty', environ: () => ({ ...goodEnviron(), PATH_INFO: '' }) },
  { rule: 'environ.server-protocol', section: '§2', name: 'HTTP/2', environ: () => ({ ...goodEnviron(), SERVER_PROTOCOL: 'HTTP/2' }) },
  { rule: 'environ.port', section: '§2', name: "SERVER_PORT 'eighty'", environ: () => ({ ...goodEnviron(), SERVER_PORT: 'eighty' }) },
  { rule: 'environ.version', section: '§2', name: '[1, 1]', environ: () => ({ ...goodEnviron(), 'tsgi.version': [1, 1] }) },
  { rule: 'environ.url-scheme', section: '§2', name: "'ftp'", environ: () => ({ ...goodEnviron(), 'tsgi.url_scheme': 'ftp' }) },
  { rule: 'environ.input', section: '§3', name: 'an input without readlines', environ: () => ({ ...goodEnviron(), 'tsgi.input': { read() {}, readline() {}, async *[Symbol.asyncIterator]() {} } }) },
  { rule: 'environ.input', section: '§3', name: 'an input that is not async iterable', environ: () => ({ ...goodEnviron(), 'tsgi.input': { read() {}, readline() {}, readlines() {} } }) },
  { rule: 'environ.errors', section: '§4', name: 'an error stream without flush', environ: () => ({ ...goodEnviron(), 'tsgi.errors': { write() {}, writelines() {} } }) },
  { rule: 'environ.flags', section: '§2', name: "tsgi.multithread 'no'", environ: () => ({ ...goodEnviron(), 'tsgi.multithread': 'no' }) },
  { rule: 'environ.raw-path', section: '§2', name: 'a raw path with the query', environ: () => ({ ...goodEnviron(), 'tsgi.raw_path': '/a?b=1' }) },
];

describe('validate(): server-side rules of the gateway interface, with a hand-built server', () => {
  it.each(environCases)('$rule: $name (the app is not called)', ({ rule, section, environ, startResponse }) => {
    let called = false;
    const { recorder, thrown } = callGateway(
      () => {
        called = true;
        return [];
      },
      environ(),
      startResponse,
    );
    expectServerViolation(thrown, recorder, rule, section);
    expect(called).toBe(false);
  });

  it('accepts what §2 allows: OPTIONS *, a mounted app at its root, extra namespaced keys', () => {
    const app: GatewayApp = (_environ, startResponse) => (startResponse('200 OK', []), []);
    for (const environ of [
      { ...goodEnviron(), REQUEST_METHOD: 'OPTIONS', PATH_INFO: '*', 'tsgi.raw_path': '*' },
      { ...goodEnviron(), SCRIPT_NAME: '/app', PATH_INFO: '' },
      { ...goodEnviron(), 'myapp.user': { id: 1 }, CONTENT_TYPE: 'text/plain', CONTENT_LENGTH: '0', REMOTE_PORT: '' },
    ]) {
      const { recorder, thrown } = callGateway(app, environ);
      expect(thrown).toBeUndefined();
      expect(recorder.violations).toEqual([]);
    }
  });

  it('input.result: read(), readline() and readlines() returning strings', () => {
    for (const method of ['read', 'readline', 'readlines'] as const) {
      const environ = { ...goodEnviron(), 'tsgi.input': { ...fakeInput(), [method]: () => (method === 'readlines' ? ['line'] : 'text') } };
      const { recorder, thrown } = callGateway((env) => {
        (env['tsgi.input'] as unknown as Record<string, () => unknown>)[method]!();
        return [];
      }, environ);
      expectServerViolation(thrown, recorder, 'input.result', '§3');
      expect((thrown as Error).message).toContain(`tsgi.input.${method}()`);
    }
  });

  it('input.result: async iteration yielding a string rejects the app’s next()', async () => {
    const environ = {
      ...goodEnviron(),
      'tsgi.input': {
        ...fakeInput(),
        async *[Symbol.asyncIterator]() {
          yield 'text';
        },
      },
    };
    const recorder = new Recorder();
    const wrapped = validate<GatewayApp>(
      async (env: Environ) => {
        for await (const chunk of env['tsgi.input']) void chunk;
        return [];
      },
      { onViolation: recorder.onViolation },
    );
    const thrown = await Promise.resolve(wrapped(environ as Environ, fakeStartResponse)).catch((error: unknown) => error);
    expectServerViolation(thrown, recorder, 'input.result', '§3');
  });

  it('start-response.write: a startResponse that returns no write function', () => {
    const { recorder, thrown } = callGateway((_environ, startResponse) => (startResponse('200 OK', []), []), goodEnviron(), () => undefined);
    expectServerViolation(thrown, recorder, 'start-response.write', '§5');
  });

  it("body.close: the server calls the body's close() a second time", () => {
    let closes = 0;
    const { recorder, result } = callGateway((_environ, startResponse) => {
      startResponse('200 OK', []);
      return Object.assign(['x'], { close: () => void closes++ });
    }, goodEnviron());
    const body = result as { close(): void };
    body.close();
    expect(closes).toBe(1);
    let thrown: unknown;
    try {
      body.close();
    } catch (error) {
      thrown = error;
    }
    expectServerViolation(thrown, recorder, 'body.close', '§1');
    expect(closes).toBe(1);
  });

  it('body.read-after-close: the server pulls a chunk after close()', async () => {
    const { recorder, result } = callGateway((_environ, startResponse) => {
      startResponse('200 OK', []);
      return Object.assign(
        (async function* () {
          yield 'a';
          yield 'b';
        })(),
        { close() {} },
      );
    }, goodEnviron());
    const body = result as AsyncIterable<unknown> & { close(): void };
    const iterator = body[Symbol.asyncIterator]();
    expect(await iterator.next()).toEqual({ done: false, value: 'a' });
    body.close();
    const thrown = await iterator.next().catch((error: unknown) => error);
    expectServerViolation(thrown, recorder, 'body.read-after-close', '§1');
  });
});

describe('validate(): the gateway wrapper forwards lazily (no buffering, backpressure kept)', () => {
  it('the body: one chunk pulled from the app per chunk the server pulls, return() passed on', () => {
    let produced = 0;
    let finished = false;
    const { result } = callGateway((_environ, startResponse) => {
      startResponse('200 OK', []);
      return (function* () {
        try {
          for (;;) {
            produced++;
            yield 'chunk';
          }
        } finally {
          finished = true;
        }
      })();
    }, goodEnviron());
    const iterator = (result as Iterable<unknown>)[Symbol.iterator]();
    expect(produced).toBe(0);
    iterator.next();
    iterator.next();
    expect(produced).toBe(2);
    iterator.return!();
    expect(finished).toBe(true);
  });

  it('tsgi.input: one chunk pulled from the server per chunk the app pulls', async () => {
    const input = fakeInput('abcdef');
    const seen: number[] = [];
    const recorder = new Recorder();
    const wrapped = validate(
      async (environ: Environ, startResponse: StartResponse) => {
        const iterator = environ['tsgi.input'][Symbol.asyncIterator]();
        seen.push(input.pulls);
        await iterator.next();
        seen.push(input.pulls);
        await iterator.next();
        seen.push(input.pulls);
        startResponse('200 OK', []);
        return [];
      },
      { onViolation: recorder.onViolation },
    );
    await wrapped({ ...goodEnviron(), 'tsgi.input': input }, fakeStartResponse);
    expect(seen).toEqual([0, 1, 2]);
    expect(recorder.violations).toEqual([]);
  });

  it('tsgi.errors: the server’s stream gets the text; properties beyond the contract pass through', () => {
    const lines: string[] = [];
    const errors = Object.freeze({ ...fakeErrors(lines), level: 'warning' });
    const { recorder } = callGateway(
      (environ, startResponse) => {
        environ['tsgi.errors'].write('one');
        environ['tsgi.errors'].writelines(new Set(['two', 'three']));
        expect((environ['tsgi.errors'] as unknown as { level: string }).level).toBe('warning');
        startResponse('200 OK', []);
        return [];
      },
      { ...goodEnviron(), 'tsgi.errors': errors },
    );
    expect(lines).toEqual(['one', 'two', 'three']);
    expect(recorder.violations).toEqual([]);
  });
});

// --- event apps with a hand-built server ---------------------------------------------------------

function httpScope(): Record<string, unknown> {
  return {
    type: 'http',
    asgi: { version: '3.0', spec_version: '2.5' },
    http_version: '1.1',
    method: 'GET',
    scheme: 'http',
    path: '/',
    raw_path: '/',
    query_string: '',
    root_path: '',
    headers: [['host', 'localhost']],
    client: ['127.0.0.1', 51000],
    server: ['127.0.0.1', 8000],
    state: {},
    extensions: { 'http.response.trailers': {} },
  };
}

function webSocketScope(): Record<string, unknown> {
  return { ...httpScope(), type: 'websocket', scheme: 'ws', method: undefined, extensions: {}, subprotocols: ['chat'] };
}

function lifespanScope(): Record<string, unknown> {
  return { type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' }, state: {} };
}

/** A receive() that yields `messages` in order, then waits forever. */
function scripted(messages: unknown[]): Receive {
  const queue = [...messages];
  return () => (queue.length > 0 ? Promise.resolve(queue.shift() as ReceiveMessage) : new Promise(() => {}));
}

const okSend: Send = () => Promise.resolve();

/** Calls an event app through validate() with a fake server; resolves with what it rejected with. */
async function callEvent(app: Handler, scope: unknown, receive: unknown = scripted([]), send: unknown = okSend): Promise<{ recorder: Recorder; thrown: unknown }> {
  const recorder = new Recorder();
  const wrapped = validate(defineEventApp(app as EventApp), { onViolation: recorder.onViolation });
  try {
    await wrapped(scope as Scope, receive as Receive, send as Send);
    return { recorder, thrown: undefined };
  } catch (error) {
    return { recorder, thrown: error };
  }
}

const scopeCases: Array<{ rule: string; section: string; name: string; scope: () => unknown; receive?: unknown }> = [
  { rule: 'scope.type', section: '§9', name: 'null', scope: () => null },
  { rule: 'scope.type', section: '§9', name: "type 'https'", scope: () => ({ ...httpScope(), type: 'https' }) },
  { rule: 'scope.receive-send', section: '§9', name: 'receive not a function', scope: httpScope, receive: 'receive' },
  { rule: 'scope.asgi', section: '§10', name: "asgi.version '2.0'", scope: () => ({ ...httpScope(), asgi: { version: '2.0' } }) },
  { rule: 'scope.asgi', section: '§12', name: 'a lifespan scope without asgi', scope: () => ({ ...lifespanScope(), asgi: undefined }) },
  { rule: 'scope.state', section: '§12', name: 'a lifespan scope without state', scope: () => ({ ...lifespanScope(), state: null }) },
  { rule: 'scope.state', section: '§10', name: 'state an array', scope: () => ({ ...httpScope(), state: [] }) },
  { rule: 'scope.http-version', section: '§10', name: "http_version '2'", scope: () => ({ ...httpScope(), http_version: '2' }) },
  { rule: 'scope.http-version', section: '§11', name: "websocket http_version '1.0'", scope: () => ({ ...webSocketScope(), http_version: '1.0' }) },
  { rule: 'scope.method', section: '§10', name: "method 'GE T'", scope: () => ({ ...httpScope(), method: 'GE T' }) },
  { rule: 'scope.scheme', section: '§10', name: "'ws' in an http scope", scope: () => ({ ...httpScope(), scheme: 'ws' }) },
  { rule: 'scope.scheme', section: '§10', name: "'https' in a websocket scope", scope: () => ({ ...webSocketScope(), scheme: 'https' }) },
  { rule: 'scope.path', section: '§10', name: "path 'index.html'", scope: () => ({ ...httpScope(), path: 'index.html' }) },
  { rule: 'scope.path', section: '§10', name: "path '' at the root", scope: () => ({ ...httpScope(), path: '' }) },
  { rule: 'scope.raw-path', section: '§10', name: 'raw_path with the query', scope: () => ({ ...httpScope(), raw_path: '/?a=1' }) },
  { rule: 'scope.query-string', section: '§10', name: 'query_string null', scope: () => ({ ...httpScope(), query_string: null }) },
  { rule: 'scope.root-path', section: '§10', name: "root_path '/app/'", scope: () => ({ ...httpScope(), root_path: '/app/' }) },
  { rule: 'scope.headers', section: '§10', name: 'an upper-case name', scope: () => ({ ...httpScope(), headers: [['Host', 'x']] }) },
  { rule: 'scope.headers', section: '§10', name: 'a Uint8Array value', scope: () => ({ ...httpScope(), headers: [['host', Buffer.from('x')]] }) },
  { rule: 'scope.headers', section: '§10', name: 'headers an object', scope: () => ({ ...httpScope(), headers: { host: 'x' } }) },
  { rule: 'scope.client', section: '§10', name: "client ['127.0.0.1']", scope: () => ({ ...httpScope(), client: ['127.0.0.1'] }) },
  { rule: 'scope.server', section: '§10', name: "server ['x', '80']", scope: () => ({ ...httpScope(), server: ['x', '80'] }) },
  { rule: 'scope.extensions', section: '§10', name: 'an extension that is not an object', scope: () => ({ ...httpScope(), extensions: { 'http.response.trailers': true } }) },
  { rule: 'scope.subprotocols', section: '§11', name: "subprotocols 'chat'", scope: () => ({ ...webSocketScope(), subprotocols: 'chat' }) },
];

const r = (type: string, extra: Record<string, unknown> = {}) => ({ type, ...extra });
const request = (body: string, more: boolean) => r('http.request', { body: Buffer.from(body), more_body: more });

/** Apps that read what the (fake) server yields; `accept` accepts the websocket first. */
const readAll: Handler = async (_scope, receive) => {
  for (;;) await receive();
};
const acceptThenRead: Handler = async (_scope, receive, send) => {
  await receive();
  await send({ type: 'websocket.accept' });
  for (;;) await receive();
};

const receiveCases: Array<{ rule: string; section: string; name: string; scope: () => unknown; messages: unknown[]; app?: Handler }> = [
  { rule: 'receive.message', section: '§9', name: 'null', scope: httpScope, messages: [null] },
  { rule: 'receive.type', section: '§10', name: 'websocket.connect on http', scope: httpScope, messages: [r('websocket.connect')] },
  { rule: 'receive.http-request', section: '§10', name: 'a string body', scope: httpScope, messages: [r('http.request', { body: 'x', more_body: false })] },
  { rule: 'receive.http-request', section: '§10', name: 'no more_body', scope: httpScope, messages: [r('http.request', { body: Buffer.from('x') })] },
  { rule: 'receive.order', section: '§10', name: 'http.request after the last one', scope: httpScope, messages: [request('a', false), request('b', false)] },
  { rule: 'receive.order', section: '§10', name: 'http.request after http.disconnect', scope: httpScope, messages: [request('a', true), r('http.disconnect'), request('b', false)] },
  { rule: 'receive.type', section: '§11', name: 'http.request on a websocket', scope: webSocketScope, messages: [r('websocket.connect'), request('', false)] },
  { rule: 'receive.order', section: '§11', name: 'websocket.receive before websocket.connect', scope: webSocketScope, messages: [r('websocket.receive', { text: 'x' })] },
  { rule: 'receive.order', section: '§11', name: 'websocket.connect twice', scope: webSocketScope, messages: [r('websocket.connect'), r('websocket.connect')] },
  { rule: 'receive.order', section: '§11', name: 'websocket.receive before the app accepted', scope: webSocketScope, messages: [r('websocket.connect'), r('websocket.receive', { text: 'x' })] },
  {
    rule: 'receive.order',
    section: '§11',
    name: 'websocket.receive after websocket.disconnect',
    scope: webSocketScope,
    app: acceptThenRead,
    messages: [r('websocket.connect'), r('websocket.disconnect', { code: 1000, reason: '' }), r('websocket.receive', { text: 'x' })],
  },
  {
    rule: 'receive.websocket-receive',
    section: '§11',
    name: 'both text and bytes',
    scope: webSocketScope,
    app: acceptThenRead,
    messages: [r('websocket.connect'), r('websocket.receive', { text: 'x', bytes: Buffer.from('y') })],
  },
  { rule: 'receive.websocket-receive', section: '§11', name: 'text a number', scope: webSocketScope, app: acceptThenRead, messages: [r('websocket.connect'), r('websocket.receive', { text: 1 })] },
  {
    rule: 'receive.websocket-disconnect',
    section: '§11',
    name: "code '1000'",
    scope: webSocketScope,
    app: acceptThenRead,
    messages: [r('websocket.connect'), r('websocket.disconnect', { code: '1000', reason: '' })],
  },
  { rule: 'receive.order', section: '§12', name: 'lifespan.shutdown before startup', scope: lifespanScope, messages: [r('lifespan.shutdown')] },
  { rule: 'receive.order', section: '§12', name: 'lifespan.startup twice', scope: lifespanScope, messages: [r('lifespan.startup'), r('lifespan.startup')] },
  { rule: 'receive.order', section: '§12', name: 'lifespan.shutdown before the app completed startup', scope: lifespanScope, messages: [r('lifespan.startup'), r('lifespan.shutdown')] },
  { rule: 'receive.type', section: '§12', name: 'http.request on the lifespan scope', scope: lifespanScope, messages: [request('', false)] },
];

describe('validate(): server-side rules of the event interface, with a hand-built server', () => {
  it.each(scopeCases)('$rule: $name (the app is not called)', async ({ rule, section, scope, receive }) => {
    let called = false;
    const { recorder, thrown } = await callEvent(
      async () => {
        called = true;
      },
      scope(),
      receive,
    );
    expectServerViolation(thrown, recorder, rule, section);
    expect(called).toBe(false);
  });

  it('accepts the scopes the server builds, OPTIONS *, null client/server, a mounted app at its root', async () => {
    for (const scope of [httpScope(), webSocketScope(), lifespanScope(), { ...httpScope(), method: 'OPTIONS', path: '*', raw_path: '*', client: null, server: ['/tmp/s', null] },
      { ...httpScope(), root_path: '/api', path: '', raw_path: '' },
    ]) {
      const { recorder } = await callEvent(async () => {}, scope);
      // The websocket app returned without deciding: that is the app's fault, not the scope's.
      expect(recorder.violations.filter((violation) => violation.side === 'server')).toEqual([]);
    }
  });

  it.each(receiveCases)('$rule: $name (the app’s receive() rejects)', async ({ rule, section, scope, messages, app }) => {
    const { recorder, thrown } = await callEvent(app ?? readAll, scope(), scripted(messages));
    expectServerViolation(thrown, recorder, rule, section);
  });

  it('receive.promise and send.promise: a server whose receive() or send() returns no promise', async () => {
    const first = await callEvent(readAll, httpScope(), () => request('', false));
    expectServerViolation(first.thrown, first.recorder, 'receive.promise', '§9');
    const second = await callEvent(async (_scope, _receive, send) => send({ type: 'http.response.start', status: 200 }), httpScope(), scripted([]), () => undefined);
    expectServerViolation(second.thrown, second.recorder, 'send.promise', '§9');
  });

  it('forwards messages untouched, in order, one for one; iterable headers reach the server as pairs', async () => {
    const sent: unknown[] = [];
    const messages = [request('ab', true), request('c', false), r('http.disconnect')];
    const received: unknown[] = [];
    const { recorder, thrown } = await callEvent(
      async (_scope, receive, send) => {
        for (let i = 0; i < 3; i++) received.push(await receive());
        await send({ type: 'http.response.start', status: 200, headers: new Map([['x-a', 'b']]) });
        await send({ type: 'http.response.body', body: 'ok' });
      },
      httpScope(),
      scripted(messages),
      (message: unknown) => (sent.push(message), Promise.resolve()),
    );
    expect(thrown).toBeUndefined();
    expect(recorder.violations).toEqual([]);
    expect(received).toEqual(messages);
    expect(received[0]).toBe(messages[0]);
    expect(sent).toEqual([
      { type: 'http.response.start', status: 200, headers: [['x-a', 'b']] },
      { type: 'http.response.body', body: 'ok' },
    ]);
  });

  it('an app that stops early after the client left (send() rejected, or http.disconnect) is not at fault', async () => {
    const rejected = await callEvent(
      async (_scope, _receive, send) => {
        await send({ type: 'http.response.start', status: 200 });
        await send({ type: 'http.response.body', body: 'x', more_body: true }).catch(() => undefined);
      },
      httpScope(),
      scripted([]),
      (message: { type: string }) => (message.type === 'http.response.body' ? Promise.reject(new Error('client gone')) : Promise.resolve()),
    );
    expect(rejected.recorder.violations).toEqual([]);
    const disconnected = await callEvent(async (_scope, receive) => void (await receive()), httpScope(), scripted([r('http.disconnect')]));
    expect(disconnected.recorder.violations).toEqual([]);
  });
});

describe('validate() itself', () => {
  it('refuses what is not an app, and an onViolation that is not a function', () => {
    expect(() => validate(bad<GatewayApp>(null))).toThrow(TypeError);
    expect(() => validate((() => []) as GatewayApp, { onViolation: bad(42) })).toThrow(/onViolation must be a function/);
  });

  it('a violation says where in docs/spec.md, what was wrong (quoting it) and what to do', () => {
    const { thrown } = callGateway((_environ, startResponse) => (startResponse('200 OK', [['X-A', 'a\u0000b']]), []), goodEnviron());
    const violation = thrown as ContractViolation;
    expect(violation.name).toBe('ContractViolation');
    expect(violation.message).toBe(
      'tsgi contract (docs/spec.md §5): startResponse() header X-A has the value "a\\u0000b", which holds CR, LF, NUL, another ' +
        'control character or a character beyond ASCII — remove control characters and percent- or RFC 8187-encode anything beyond ASCII',
    );
  });

  it('headers as startResponse gets them: the pairs the app gave, untouched', () => {
    const seen: unknown[] = [];
    const headers: HeaderPair[] = [['X-A', 'b']];
    callGateway(
      (_environ, startResponse) => (startResponse('200 OK', headers), []),
      goodEnviron(),
      (status: string, given: readonly HeaderPair[]) => (seen.push(status, given), () => {}),
    );
    expect(seen).toEqual(['200 OK', headers]);
    expect(seen[1]).toBe(headers);
  });
});
