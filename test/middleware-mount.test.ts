/**
 * mount() and compose() over real sockets: prefix matching on segment boundaries, the
 * SCRIPT_NAME/PATH_INFO (root_path/path) split with the raw path cut in step, input modes, event
 * mounts with websockets and a lifespan that reaches every mounted app.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { compose, mount } from '../src/middleware/index.js';
import type { AnyApp } from '../src/middleware/shared/kind.js';
import { defineEventApp, serve } from '../src/index.js';
import type { Environ, EventApp, GatewayApp, HttpScope, StartResponse, WebSocketScope } from '../src/index.js';
import { startServer, type TestServer } from './helpers.js';
import { RawConn } from './raw-conn.js';

let server: TestServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

/** A gateway app that reports where it was mounted, as JSON. */
function reporter(name: string): GatewayApp {
  return (environ: Environ, startResponse: StartResponse) => {
    startResponse('200 OK', [['Content-Type', 'application/json']]);
    return [JSON.stringify({ name, script: environ.SCRIPT_NAME, path: environ.PATH_INFO, raw: environ['tsgi.raw_path'] })];
  };
}

/** The same, as an event app (root_path/path/raw_path). */
function eventReporter(name: string): EventApp {
  return defineEventApp(async (scope, _receive, send) => {
    if (scope.type === 'lifespan') throw new Error('no lifespan here');
    if (scope.type === 'websocket') {
      await send({ type: 'websocket.accept' });
      const ws = scope as WebSocketScope;
      await send({ type: 'websocket.send', text: JSON.stringify({ name, script: ws.root_path, path: ws.path, raw: ws.raw_path }) });
      await send({ type: 'websocket.close', code: 1000 });
      return;
    }
    const http = scope as HttpScope;
    await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
    await send({ type: 'http.response.body', body: JSON.stringify({ name, script: http.root_path, path: http.path, raw: http.raw_path }) });
  });
}

async function get(port: number, target: string): Promise<{ name: string; script: string; path: string; raw: string }> {
  const conn = await RawConn.open(port);
  conn.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
  const response = await conn.read();
  conn.destroy();
  expect(response.status).toBe(200);
  return JSON.parse(response.body.toString());
}

const routingCases: Array<[target: string, name: string, script: string, path: string, raw: string]> = [
  ['/', 'root', '', '/', '/'],
  ['/admin', 'admin', '/admin', '', ''],
  ['/admin/', 'admin', '/admin', '/', '/'],
  ['/admin/x/y', 'admin', '/admin', '/x/y', '/x/y'],
  ['/administrator', 'root', '', '/administrator', '/administrator'],
  ['/api/v2/users', 'v2', '/api/v2', '/users', '/users'],
  ['/api/v1/users', 'api', '/api', '/v1/users', '/v1/users'],
  ['/admin/a%2Fb', 'admin', '/admin', '/a/b', '/a%2Fb'],
  ['/%61dmin/x%20y', 'admin', '/admin', '/x y', '/x%20y'],
  ['/api%2Fv2/users', 'v2', '/api/v2', '/users', '/users'],
];

describe.each([
  ['gateway', reporter],
  ['event', eventReporter],
] as const)('mount of %s apps', (_kind, make) => {
  it.each(routingCases)('routes %s to %s', async (target, name, script, path, raw) => {
    server ??= await startServer(
      // Either interface: the server tells them apart by the event app's mark, not by type.
      mount(make('root') as AnyApp, { '/admin': make('admin'), '/api/': make('api'), '/api/v2': make('v2') }) as unknown as GatewayApp,
      'llhttp',
    );
    expect(await get(server.port, target)).toEqual({ name, script, path, raw });
    await server.close();
    server = null;
  });

  it('nests: an inner mount sees the outer prefix in its script name', async () => {
    const inner = mount(make('inner-root') as AnyApp, { '/b': make('b') });
    server = await startServer(mount(make('root') as AnyApp, { '/a': inner }) as unknown as GatewayApp, 'llhttp');
    expect(await get(server.port, '/a/b/c')).toEqual({ name: 'b', script: '/a/b', path: '/c', raw: '/c' });
    expect(await get(server.port, '/a/c')).toEqual({ name: 'inner-root', script: '/a', path: '/c', raw: '/c' });
  });
});

describe('mount input modes', () => {
  const syncEcho: GatewayApp = (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`sync:${new TextDecoder().decode(environ['tsgi.input'].read())}`];
  };
  const streamEcho: GatewayApp = async (environ, startResponse) => {
    let text = '';
    for await (const chunk of environ['tsgi.input']) text += new TextDecoder().decode(chunk);
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`stream:${text}`];
  };

  it('keeps the mode when every app shares it', () => {
    expect((mount(syncEcho, { '/a': syncEcho }) as { tsgiInput?: string }).tsgiInput).toBe('buffered');
    expect((mount(streamEcho, { '/a': streamEcho }) as { tsgiInput?: string }).tsgiInput).toBe('stream');
    expect((mount(syncEcho, { '/a': streamEcho }) as { tsgiInput?: string }).tsgiInput).toBe('stream');
  });

  it('reads the body whole for a buffered app in a mixed mount, and 413s past maxBodySize', async () => {
    server = await startServer(mount(syncEcho, { '/stream': streamEcho }, { maxBodySize: 100 }), 'llhttp');
    const buffered = await fetch(`${server.url}/x`, { method: 'POST', body: 'hello' });
    expect(await buffered.text()).toBe('sync:hello');
    const streamed = await fetch(`${server.url}/stream`, { method: 'POST', body: 'x'.repeat(1000) });
    expect(await streamed.text()).toBe(`stream:${'x'.repeat(1000)}`);
    const tooLarge = await fetch(`${server.url}/x`, { method: 'POST', body: 'x'.repeat(101) });
    expect(tooLarge.status).toBe(413);
  });
});

describe('event mounts', () => {
  it('routes websockets by prefix with root_path and path', async () => {
    server = await startServer(mount(eventReporter('root'), { '/chat': eventReporter('chat') }), 'llhttp');
    const text = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server!.port}/chat/room%201`);
      ws.once('message', (data) => resolve(data.toString()));
      ws.once('error', reject);
    });
    expect(JSON.parse(text)).toEqual({ name: 'chat', script: '/chat', path: '/room 1', raw: '/room%201' });
  });

  it('bridges gateway apps mounted beside event apps', async () => {
    server = await startServer(mount(reporter('root'), { '/live': eventReporter('live') }) as unknown as EventApp, 'llhttp');
    expect(await get(server.port, '/live/x')).toEqual({ name: 'live', script: '/live', path: '/x', raw: '/x' });
    expect(await get(server.port, '/y')).toEqual({ name: 'root', script: '', path: '/y', raw: '/y' });
  });

  /** An event app whose lifespan puts `key` in the state and records shutdown in `log`. */
  function withLifespan(key: string, log: string[], fail?: string): EventApp {
    return defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        for (;;) {
          const message = await receive();
          if (message.type === 'lifespan.startup') {
            if (fail !== undefined) {
              await send({ type: 'lifespan.startup.failed', message: fail });
              return;
            }
            scope.state[key] = true;
            await send({ type: 'lifespan.startup.complete' });
          } else if (message.type === 'lifespan.shutdown') {
            log.push(key);
            await send({ type: 'lifespan.shutdown.complete' });
            return;
          }
        }
      }
      if (scope.type !== 'http') return;
      await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'application/json']] });
      await send({ type: 'http.response.body', body: JSON.stringify(Object.keys(scope.state).sort()) });
    });
  }

  it('runs lifespan in every mounted event app, sharing one state, and skips apps without lifespan', async () => {
    const log: string[] = [];
    const app = mount(withLifespan('root', log), { '/a': withLifespan('a', log), '/plain': eventReporter('plain'), '/gw': reporter('gw') });
    server = await startServer(app, 'llhttp', { lifespan: 'on' });
    expect(await (await fetch(`${server.url}/a/x`)).json()).toEqual(['a', 'root']);
    expect(await (await fetch(`${server.url}/`)).json()).toEqual(['a', 'root']);
    await server.close();
    server = null;
    expect(log.sort()).toEqual(['a', 'root']);
  });

  it('fails startup when one mounted app fails it, naming its message', async () => {
    const app = mount(withLifespan('root', []), { '/a': withLifespan('a', [], 'database unreachable') });
    await expect(serve(app, { host: '127.0.0.1', port: 0, lifespan: 'on', logLevel: 'critical' })).rejects.toThrow('database unreachable');
  });
});

describe('mount refuses bad mappings', () => {
  const app = reporter('x');
  it.each([
    [{ admin: app }, "must start with '/'"],
    [{ '/': app }, 'is the root'],
    [{ '/a//b': app }, "empty segment"],
    [{ '/a': app, '/a/': app }, 'given twice'],
    [{ '/a': 'not an app' }, 'not an app'],
  ])('%j', (mapping, message) => {
    expect(() => mount(app, mapping as never)).toThrow(message);
  });
  it('without a mapping', () => {
    expect(() => mount(app, undefined as never)).toThrow('needs a mapping');
  });
});

describe('compose', () => {
  const tag =
    (label: string) =>
    (inner: GatewayApp): GatewayApp =>
    (environ, startResponse) =>
      inner(environ, (status, headers, excInfo) => startResponse(status, [...headers, ['X-Order', label]], excInfo));

  it('applies wrappers in reading order: the last is outermost', async () => {
    const app = compose(reporter('root'), [mount, { '/admin': reporter('admin') }], tag('first') as never, tag('second') as never);
    server = await startServer(app, 'llhttp');
    const response = await fetch(`${server.url}/admin/x`);
    expect(response.headers.get('x-order')).toBe('first, second');
    expect(((await response.json()) as { name: string }).name).toBe('admin');
  });

  it('refuses a wrapper that is not a function or a list', () => {
    expect(() => compose(reporter('root'), 'cors' as never)).toThrow('wrapper #1 must be a function');
    expect(() => compose(reporter('root'), (() => 42) as never)).toThrow('returned number instead of an app');
  });
});
