/**
 * The lifespan protocol (docs/spec.md §12) through serve() on every backend — startup before
 * listening, state copied into every request, failed startups, the auto/on/off modes, shutdown
 * after in-flight requests, protocol misuse — and through the `tsgi` command (needs `dist/`, which
 * `npm test` builds): an event app served, a failed startup exiting 1, SIGTERM running shutdown.
 */
import net from 'node:net';
import path from 'node:path';
import { fetch } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { defineEventApp, serve, type EventApp, type LifespanScope, type ReceiveMessage, type Send, type ServeOptions } from '../src/index.js';
import { killChildren, root, run, start } from './cli-process.js';
import { describeBackends, delay, eventually, startServer, type TestServer, type BackendName } from './helpers.js';

type Backend = BackendName;

/** A port that was free a moment ago (the OS picked it), for checking that nothing listens on it. */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** Whether a TCP connection to the port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function respond(send: Send, body: string): Promise<void> {
  await send({ type: 'http.response.start', status: 200, headers: [['content-type', 'text/plain']] });
  await send({ type: 'http.response.body', body });
}

/** serve() with the test defaults but no helper wrapping, for calls expected to reject. */
function serveRaw(app: EventApp, backend: Backend, options: ServeOptions = {}): Promise<Awaited<ReturnType<typeof serve>>> {
  const errors: string[] = [];
  return serve(app, {
    host: '127.0.0.1',
    port: 0,
    backend,
    logLevel: 'warning',
    gracefulTimeout: 2,
    errorSink: (text) => errors.push(text),
    ...options,
  });
}

/** An app written for http only: it raises on any other scope type, as many do. */
const httpOnly: EventApp = async (scope, _receive, send) => {
  if (scope.type !== 'http') throw new Error(`unsupported scope type ${scope.type}`);
  await respond(send, 'http only');
};

describeBackends('lifespan on %s', (backend) => {
  let server: TestServer | null = null;
  afterEach(async () => {
    await server?.close().catch(() => undefined);
    server = null;
  });

  it('startup runs before the server listens; its state is copied into every request', async () => {
    const port = await freePort();
    const db = { name: 'fake database' };
    const events: string[] = [];
    let lifespanScope: LifespanScope | null = null;
    let listeningDuringStartup: boolean | null = null;
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        lifespanScope = scope;
        events.push(`app got ${(await receive()).type}`);
        await delay(100);
        listeningDuringStartup = await accepts(port);
        scope.state.db = db;
        scope.state.counter = 0;
        events.push('startup complete sent');
        await send({ type: 'lifespan.startup.complete' });
        events.push(`app got ${(await receive()).type}`);
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      const state = scope.state;
      const seen = {
        sameDb: state.db === db,
        copy: state !== lifespanScope!.state,
        counter: state.counter,
        added: state.added ?? null,
      };
      // Mutations stay in this request's copy.
      state.added = scope.path;
      state.counter = 99;
      await respond(send, JSON.stringify(seen));
    });
    const starting = startServer(app, backend, { port }).then((started) => {
      events.push('serve() resolved');
      return started;
    });
    server = await starting;
    expect(events).toEqual(['app got lifespan.startup', 'startup complete sent', 'serve() resolved']);
    expect(listeningDuringStartup).toBe(false);
    expect(server.port).toBe(port);
    expect(lifespanScope).toMatchObject({ type: 'lifespan', asgi: { version: '3.0', spec_version: '2.0' } });

    for (const requestPath of ['/one', '/two']) {
      const response = await fetch(`${server.url}${requestPath}`);
      expect(await response.json()).toEqual({ sameDb: true, copy: true, counter: 0, added: null });
    }
    // The lifespan state itself was not touched by the requests.
    expect(lifespanScope!.state).toEqual({ db, counter: 0 });
    await server.close();
    server = null;
    expect(events.at(-1)).toBe('app got lifespan.shutdown');
  });

  it('lifespan.startup.failed: serve() rejects with the app message and nothing listens', async () => {
    const port = await freePort();
    let httpCalls = 0;
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.failed', message: 'cannot reach the database' });
        return;
      }
      httpCalls++;
    });
    await expect(serveRaw(app, backend, { port })).rejects.toThrow(/cannot reach the database/);
    expect(await accepts(port)).toBe(false);
    expect(httpCalls).toBe(0);
  });

  it("lifespan 'auto': an app that raises on the lifespan scope is served without it, with an info line", async () => {
    server = await startServer(defineEventApp(httpOnly), backend, { logLevel: 'info' });
    expect(await (await fetch(server.url)).text()).toBe('http only');
    const info = server.errors.filter((line) => line.startsWith('[tsgi] [info]') && line.includes('lifespan'));
    expect(info).toHaveLength(1);
    expect(info[0]).toContain('unsupported scope type lifespan');
    expect(server.errors.filter((line) => line.startsWith('[tsgi] [error]'))).toEqual([]);
    // Closing does not wait for a shutdown the app never took part in.
    await server.close();
    server = null;
  });

  it("lifespan 'on': the same app makes serve() reject with its error, and nothing listens", async () => {
    const port = await freePort();
    await expect(serveRaw(defineEventApp(httpOnly), backend, { port, lifespan: 'on' })).rejects.toThrow(
      /unsupported scope type lifespan/,
    );
    expect(await accepts(port)).toBe(false);
  });

  it("lifespan 'off': the app never sees a lifespan scope", async () => {
    const types: string[] = [];
    server = await startServer(
      defineEventApp(async (scope, _receive, send) => {
        types.push(scope.type);
        if (scope.type === 'http') await respond(send, 'no lifespan');
      }),
      backend,
      { lifespan: 'off' },
    );
    expect(await (await fetch(server.url)).text()).toBe('no lifespan');
    await server.close();
    server = null;
    expect(types).toEqual(['http']);
  });

  it('close(): stops accepting, lets the in-flight request finish, then runs shutdown, then resolves', async () => {
    const events: string[] = [];
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type === 'lifespan') {
        await receive();
        await send({ type: 'lifespan.startup.complete' });
        const message = await receive();
        events.push(`app got ${message.type}`);
        await delay(100);
        events.push('shutdown complete sent');
        await send({ type: 'lifespan.shutdown.complete' });
        return;
      }
      if (scope.type !== 'http') return;
      events.push('request started');
      await delay(300);
      events.push('request answered');
      await respond(send, 'finished in flight');
    });
    server = await startServer(app, backend, { gracefulTimeout: 10 });
    const port = server.port;
    const inFlight = fetch(server.url).then((response) => response.text());
    expect(await eventually(() => events.includes('request started'))).toBe(true);
    const closing = server.close().then(() => events.push('close() resolved'));
    server = null;
    await delay(50);
    // No new connections once closing began, while the request is still running.
    expect(await accepts(port)).toBe(false);
    expect(events).not.toContain('request answered');
    expect(await inFlight).toBe('finished in flight');
    await closing;
    expect(events).toEqual([
      'request started',
      'request answered',
      'app got lifespan.shutdown',
      'shutdown complete sent',
      'close() resolved',
    ]);
  });

  it('lifespan.shutdown.failed: close() rejects with the app message', async () => {
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await send({ type: 'lifespan.startup.complete' });
      await receive();
      await send({ type: 'lifespan.shutdown.failed', message: 'could not flush the queue' });
    });
    const started = await serveRaw(app, backend);
    await expect(started.close()).rejects.toThrow(/could not flush the queue/);
  });

  it('protocol misuse in lifespan: send() rejects with a ProtocolError and it is logged', async () => {
    const failures: Array<{ name: string; message: string }> = [];
    const attempt = async (send: Send, message: unknown): Promise<void> => {
      try {
        await send(message as Parameters<Send>[0]);
        failures.push({ name: 'resolved', message: JSON.stringify(message) });
      } catch (error) {
        failures.push({ name: (error as Error).name, message: (error as Error).message });
      }
    };
    let shutdownMessage: ReceiveMessage | null = null;
    const app = defineEventApp(async (scope, receive, send) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      await attempt(send, { type: 'lifespan.shutdown.complete' });
      await attempt(send, { type: 'lifespan.bogus' });
      await attempt(send, { type: 'http.response.start', status: 200 });
      await attempt(send, 'not a message');
      await send({ type: 'lifespan.startup.complete' });
      await attempt(send, { type: 'lifespan.startup.complete' });
      shutdownMessage = await receive();
      await send({ type: 'lifespan.shutdown.complete' });
    });
    server = await startServer(app, backend);
    expect(failures.map((failure) => failure.name)).toEqual(Array(5).fill('ProtocolError'));
    expect(failures[0]!.message).toMatch(/lifespan\.shutdown\.complete was sent, but shutdown is not in progress/);
    expect(failures[1]!.message).toMatch(/"lifespan\.bogus".*expected lifespan\.startup\.complete/);
    expect(failures[2]!.message).toMatch(/"http\.response\.start" on the lifespan scope/);
    expect(failures[3]!.message).toMatch(/message object with a string "type"/);
    expect(failures[4]!.message).toMatch(/lifespan\.startup\.complete was sent, but startup is not in progress/);
    for (const failure of failures) {
      expect(server.errors.filter((line) => line.startsWith('[tsgi] [error]') && line.includes(failure.message))).toHaveLength(1);
    }
    // The misuse did not derail the protocol: the server serves and shuts down normally.
    await server.close();
    server = null;
    expect(shutdownMessage).toEqual({ type: 'lifespan.shutdown' });
  });

  it("lifespan 'on': an app raising during startup makes serve() reject and logs the stack", async () => {
    const errors: string[] = [];
    const app = defineEventApp(async (scope, receive) => {
      if (scope.type !== 'lifespan') return;
      await receive();
      throw new Error('migration failed');
    });
    await expect(serveRaw(app, backend, { lifespan: 'on', errorSink: (text) => errors.push(text) })).rejects.toThrow(/migration failed/);
    expect(errors.some((line) => line.startsWith('[tsgi] [error]') && line.includes('Error: migration failed'))).toBe(true);
  });
});

// --- the tsgi command ------------------------------------------------------------------------

const fixtures = path.join(root, 'test', 'fixtures');

describeBackends('event apps served by the tsgi command on %s', (backend) => {
  afterEach(killChildren);

  it('--interface event serves an unmarked event app, with the state its startup set', async () => {
    const server = await start(['--backend', backend, '--interface', 'event', `${fixtures}/event-app.mjs:app`]);
    expect(server.stderr.join('')).toMatch(new RegExp(`with backend ${backend}.*event interface`));
    const response = await fetch(`http://127.0.0.1:${server.port}/path`, { method: 'POST', body: 'abc' });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('hello from lifespan state; POST /path; 3 bytes');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('a marked event app is served as one with the default --interface auto', async () => {
    const server = await start(['--backend', backend, `${fixtures}/event-app.mjs:marked`]);
    expect(server.stderr.join('')).toContain('event interface');
    expect(await (await fetch(`http://127.0.0.1:${server.port}/m`)).text()).toBe('hello from lifespan state; GET /m; 0 bytes');
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('a failed startup exits with status 1 and the app message on stderr, never listening', async () => {
    const result = run(['--backend', backend, '--bind', '127.0.0.1:0', `${fixtures}/event-startup-fails.mjs:app`]);
    expect(await result.exited).toBe(1);
    const stderr = result.stderr.join('');
    expect(stderr).toContain('fixture: database unreachable at startup');
    expect(stderr).not.toContain('listening on');
  });

  it('SIGTERM finishes the in-flight request, runs the lifespan shutdown, and exits 0', async () => {
    const server = await start(['--backend', backend, '--interface', 'event', `${fixtures}/event-app.mjs:app`]);
    const pending = fetch(`http://127.0.0.1:${server.port}/slow`).then((response) => response.text());
    await delay(100);
    server.child.kill('SIGTERM');
    expect(await pending).toBe('hello from lifespan state; GET /slow; 0 bytes');
    expect(await server.exited).toBe(0);
    const stdout = server.stdout.join('');
    expect(stdout).toContain('fixture: lifespan shutdown ran');
    // Shutdown ran after the in-flight request was answered.
    expect(stdout.indexOf('fixture: slow request answered')).toBeGreaterThanOrEqual(0);
    expect(stdout.indexOf('fixture: slow request answered')).toBeLessThan(stdout.indexOf('fixture: lifespan shutdown ran'));
    expect(server.stderr.join('')).toContain('SIGTERM');
  });
});
