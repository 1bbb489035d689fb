/**
 * `serve()` and the server handle: binding, backend choice, close(), listen errors, option
 * validation and the startup line. Real servers on real ports.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serve, type GatewayApp, type Server, type ServeOptions } from '../src/index.js';
import { describeBackends, parseResponses, rawRequest, startServer, type TestServer, type BackendName } from './helpers.js';

// --- helpers local to this file --------------------------------------------------------------

/** Answers `<label> <PATH_INFO>`. */
function labelApp(label: string): GatewayApp {
  return (environ, startResponse) => {
    startResponse('200 OK', [['Content-Type', 'text/plain']]);
    return [`${label} ${environ.PATH_INFO as string}`];
  };
}

/** One GET on a fresh connection that asks the server to close it afterwards. */
async function getBody(port: number, path: string): Promise<{ status: number; body: string }> {
  const result = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n`, 3000);
  const responses = parseResponses(result.text);
  expect(responses).toHaveLength(1);
  return { status: responses[0]!.status, body: responses[0]!.body };
}

/** Resolves with the connect error code, or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** Expects `serve(app, options)` to reject, closing the server if it unexpectedly started. */
async function serveError(app: unknown, options: Parameters<typeof serve>[1]): Promise<Error> {
  let server: Server | null = null;
  try {
    server = await serve(app as GatewayApp, { logLevel: 'critical', ...options });
  } catch (error) {
    return error as Error;
  } finally {
    await server?.close();
  }
  throw new Error(`serve() resolved (port ${server?.port}) where it should have rejected`);
}

const started: TestServer[] = [];
async function start(app: GatewayApp, backend: BackendName, options?: ServeOptions): Promise<TestServer> {
  const server = await startServer(app, backend, options);
  started.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((server) => server.close()));
});

// --- the suites ---------------------------------------------------------------------------------

describeBackends('serve() on %s', (backend) => {
  it('binds a free port when asked for port 0 and reports the backend', async () => {
    const server = await start((environ, startResponse) => {
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`${environ.SERVER_NAME as string}:${environ.SERVER_PORT as string}`];
    }, backend);
    expect(server.server.port).toBeGreaterThan(0);
    expect(server.server.port).toBeLessThanOrEqual(65535);
    expect(server.server.backend).toBe(backend);
    expect(server.server.host).toBe('127.0.0.1');
    // The reported port is the one actually listening, and the app sees it as SERVER_PORT.
    expect(await getBody(server.port, '/x')).toEqual({ status: 200, body: `127.0.0.1:${server.port}` });
  });

  it('runs two servers at once on different ports', async () => {
    const first = await start(labelApp('first'), backend);
    const second = await start(labelApp('second'), backend);
    expect(first.port).not.toBe(second.port);
    const [a, b] = await Promise.all([getBody(first.port, '/a'), getBody(second.port, '/b')]);
    expect(a).toEqual({ status: 200, body: 'first /a' });
    expect(b).toEqual({ status: 200, body: 'second /b' });
    // Closing one leaves the other serving.
    await first.close();
    expect(await tryConnect(first.port)).toBe('ECONNREFUSED');
    expect(await getBody(second.port, '/still')).toEqual({ status: 200, body: 'second /still' });
  });

  it('close() stops listening, lets an in-flight slow request finish, then resolves', async () => {
    let entered!: () => void;
    const appEntered = new Promise<void>((resolve) => {
      entered = resolve;
    });
    const server = await start(async (environ, startResponse) => {
      entered();
      await new Promise((resolve) => setTimeout(resolve, 300));
      startResponse('200 OK', [['Content-Type', 'text/plain']]);
      return [`slow ${environ.PATH_INFO as string} done`];
    }, backend);
    const inFlight = rawRequest(server.port, 'GET /slow HTTP/1.1\r\nHost: test\r\n\r\n', 5000);
    await appEntered;
    const closing = server.close();
    // The listening socket is gone while the request is still being worked on.
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
    await expect(closing).resolves.toBeUndefined();
    const result = await inFlight;
    const responses = parseResponses(result.text);
    expect(responses).toHaveLength(1);
    expect(responses[0]!.status).toBe(200);
    expect(responses[0]!.header('content-length')).toEqual(['15']);
    expect(responses[0]!.body).toBe('slow /slow done');
    // The server then closed the (keep-alive) connection itself.
    expect(result.closed).toBe(true);
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  });

  it('close() is idempotent: a second call resolves too', async () => {
    const server = await start(labelApp('x'), backend);
    const first = server.server.close();
    const second = server.server.close();
    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    expect(await tryConnect(server.port)).toBe('ECONNREFUSED');
  });

  it('rejects when the port is already in use, naming host and port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await serveError(labelApp('x'), { host: '127.0.0.1', port, backend });
      expect(error).toBeInstanceOf(Error);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      // uWS reports no error code; the socket-based backends pass the system's on.
      if (backend !== 'uws') expect(error.message).toContain('EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('rejects when another tsgi server of the same backend holds the port', async () => {
    const holder = await start(labelApp('holder'), backend);
    const error = await serveError(labelApp('x'), { host: '127.0.0.1', port: holder.port, backend });
    expect(error.message).toContain(`127.0.0.1:${holder.port}`);
    // The first server is unaffected.
    expect(await getBody(holder.port, '/h')).toEqual({ status: 200, body: 'holder /h' });
  });

  it('logs the startup line at info level', async () => {
    const server = await start(labelApp('x'), backend, { logLevel: 'info' });
    const lines = server.errors.filter((line) => line.includes('listening on'));
    expect(lines).toHaveLength(1);
    // The backend's name, then what runs underneath in parentheses.
    expect(lines[0]).toMatch(
      new RegExp(`^\\[tsgi\\] \\[info\\] listening on http://127\\.0\\.0\\.1:${server.port} with backend ${backend} \\([^)]+, as configured\\), gateway interface\n$`),
    );
  });

  it('does not log the startup line above info level', async () => {
    const server = await start(labelApp('x'), backend, { logLevel: 'warning' });
    expect(server.errors.filter((line) => line.includes('listening on'))).toEqual([]);
  });
});

describe('serve() backend choice', () => {
  it("backend 'auto' picks llhttp and says it is auto's first choice", async () => {
    const errors: string[] = [];
    const server = await serve(labelApp('auto'), {
      host: '127.0.0.1',
      port: 0,
      backend: 'auto',
      logLevel: 'info',
      errorSink: (text) => errors.push(text),
    });
    try {
      expect(server.backend).toBe('llhttp');
      expect(errors.join('')).toContain(
        `listening on http://127.0.0.1:${server.port} with backend llhttp (Node's llhttp parser on raw sockets, auto's first choice), gateway interface`,
      );
      expect(await getBody(server.port, '/a')).toEqual({ status: 200, body: 'auto /a' });
    } finally {
      await server.close();
    }
  });

  it('a backend asked for by name says so', async () => {
    const errors: string[] = [];
    const server = await serve(labelApp('named'), { host: '127.0.0.1', port: 0, backend: 'node', logLevel: 'info', errorSink: (text) => errors.push(text) });
    try {
      expect(errors.join('')).toContain(`with backend node (node:http, as configured), gateway interface`);
    } finally {
      await server.close();
    }
  });
});

describe('serve() argument validation', () => {
  it.each([
    [{ port: -1 }, 'port must be an integer from 0 to 65535; got -1'],
    [{ port: 70000 }, 'port must be an integer from 0 to 65535; got 70000'],
    [{ backend: 'nope' }, 'backend must be one of auto, llhttp, uws, node; got "nope"'],
    [{ logLevel: 'loud' }, 'logLevel must be one of critical, error, warning, info, debug; got "loud"'],
    [{ maxBodySize: -5 }, 'maxBodySize must be an integer from 0 to'],
  ])('rejects %j with a clear message', async (options, message) => {
    const error = await serveError(labelApp('x'), { port: 0, ...(options as object) });
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toContain(message);
    if ('maxBodySize' in options) expect(error.message).toContain('got -5');
  });

  it("serve('not a function') rejects with a TypeError", async () => {
    const error = await serveError('not a function', { port: 0 });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toContain('needs an app: a gateway app (environ, startResponse), an event app (scope, receive, send), a fetch handler');
    expect(error.message).toContain("a Node listener (req, res) with interface: 'node'");
    expect(error.message).toContain('got string');
  });
});
