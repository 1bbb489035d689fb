/**
 * `TestClient`: calls an app of either interface in process, as the server would, and answers
 * with standard `Response` objects (werkzeug's test `Client` and Starlette's `TestClient` are the
 * models). No socket, no port: the environ or scope is built from the request, the body is
 * pulled from the app only as the test reads it, and a fault reaches the test as an exception.
 */
import { randomBytes } from 'node:crypto';
import { isEventApp } from '../middleware/shared/kind.js';
import type { EventApp } from '../spec/event-types.js';
import type { GatewayApp } from '../spec/types.js';
import type { ContractViolation } from './contract.js';
import { createErrorStream, type ClientContext } from './context.js';
import { CookieJar, type CookieView } from './cookies.js';
import { runEventHttp } from './event-http.js';
import { runGateway } from './gateway.js';
import { LifespanRunner } from './lifespan.js';
import { resolveOptions, type ResolvedOptions, type TestClientOptions } from './options.js';
import { headerPairs, prepareRequest, type PreparedRequest, type TestRequestInit } from './request.js';
import { openWebSocket, type TestWebSocket, type WebSocketOptions } from './websocket.js';

/** A request without its method, for the `get()`, `post()`, … shortcuts. */
export type TestMethodInit = Omit<TestRequestInit, 'method'>;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const EMPTY_JAR = new CookieJar().view;

export class TestClient implements AsyncDisposable {
  /** The app under test, as given. */
  readonly app: GatewayApp | EventApp;
  /**
   * What the app wrote to `environ['tsgi.errors']` (also echoed to stderr, as the server does),
   * and what the server would have logged: faults answered with 500, misuses, cut bodies.
   */
  readonly errors: string[] = [];
  /** Every contract violation the validator saw, in order (each also fails its own request). */
  readonly violations: ContractViolation[] = [];

  private readonly settings: ResolvedOptions;
  private readonly jar: CookieJar | null;
  private readonly lifespan: LifespanRunner | null;
  private readonly live = new Set<() => void | Promise<void>>();
  private readonly context: ClientContext;

  constructor(app: GatewayApp, options?: TestClientOptions);
  constructor(app: EventApp, options?: TestClientOptions);
  constructor(app: GatewayApp | EventApp, options?: TestClientOptions);
  constructor(app: GatewayApp | EventApp, options: TestClientOptions = {}) {
    if (typeof app !== 'function') {
      throw new TypeError(`TestClient needs an app (a function) as its first argument; got ${app === null ? 'null' : typeof app}`);
    }
    this.app = app;
    this.settings = resolveOptions(options);
    this.jar = this.settings.cookies ? new CookieJar() : null;
    this.context = this.contextFor();
    this.lifespan = isEventApp(app) ? new LifespanRunner(this.context, app, this.settings.lifespan) : null;
  }

  /** A started client: `const client = await TestClient.start(app)` runs lifespan startup first. */
  static start(app: GatewayApp, options?: TestClientOptions): Promise<TestClient>;
  static start(app: EventApp, options?: TestClientOptions): Promise<TestClient>;
  static start(app: GatewayApp | EventApp, options?: TestClientOptions): Promise<TestClient>;
  static async start(app: GatewayApp | EventApp, options?: TestClientOptions): Promise<TestClient> {
    const client = new TestClient(app, options);
    await client.start();
    return client;
  }

  /** The cookie jar (read-only); always empty unless the client was made with `cookies: true`. */
  get cookies(): CookieView {
    return this.jar?.view ?? EMPTY_JAR;
  }

  /** Forgets every stored cookie. */
  clearCookies(): void {
    this.jar?.clear();
  }

  /**
   * Runs lifespan startup (event apps; nothing for gateway apps) and resolves once the app
   * answered `lifespan.startup.complete`. Rejects when startup failed: a `LifespanError` with the
   * app's message, or the app's own error (`lifespan: 'on'`).
   */
  async start(): Promise<this> {
    await this.lifespan?.startup();
    return this;
  }

  /**
   * Ends what is still open (unread response bodies are cancelled, websockets closed with 1001)
   * and runs lifespan shutdown if startup ran.
   */
  async close(): Promise<void> {
    const ends = [...this.live];
    this.live.clear();
    await Promise.allSettled(ends.map((end) => end()));
    await this.lifespan?.shutdown();
  }

  /** `await using client = await TestClient.start(app)`: `close()` at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Makes a request and resolves with the app's `Response` once its status and headers are known
   * (its body streams from the app as it is read). Rejects with the error the app raised before
   * its response started (unless `raiseServerExceptions: false`: then a 500 `Response`), or with
   * the first `ContractViolation` when validation is on.
   */
  async fetch(input: string | URL, init: TestRequestInit = {}): Promise<Response> {
    const request = await this.prepare(input, init);
    const response = isEventApp(this.app)
      ? await runEventHttp(this.context, this.app, request)
      : await runGateway(this.context, this.app as GatewayApp, request);
    this.jar?.store(response.headers.getSetCookie(), request.scheme, request.hostname, request.rawPath);
    return response;
  }

  get(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'GET' });
  }

  head(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'HEAD' });
  }

  post(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'POST' });
  }

  put(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'PUT' });
  }

  patch(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'PATCH' });
  }

  delete(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'DELETE' });
  }

  options(input: string | URL, init?: TestMethodInit): Promise<Response> {
    return this.fetch(input, { ...init, method: 'OPTIONS' });
  }

  /**
   * Opens a websocket to an event app and resolves once the app accepted it. Rejects with a
   * `WebSocketRefused` (403 and the close code) when the app closed before accepting, and with the
   * app's error when it failed first (as `fetch()` does).
   */
  async websocket(input: string | URL, options: WebSocketOptions = {}): Promise<TestWebSocket> {
    if (!isEventApp(this.app)) {
      throw new TypeError(
        'websocket() needs an event app: a gateway app (environ, startResponse) cannot accept a websocket (docs/spec.md §11). ' +
          'Serve the websocket from an event app (defineEventApp) that hands plain HTTP requests to the gateway app, and test that app.',
      );
    }
    const subprotocols = options.subprotocols ?? [];
    for (const protocol of subprotocols) {
      if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
        throw new TypeError(`websocket() subprotocols must be HTTP tokens; got ${JSON.stringify(protocol)}`);
      }
    }
    // The handshake a browser sends; the app sees it in scope.headers.
    const handshake: [string, string][] = [
      ['connection', 'Upgrade'],
      ['upgrade', 'websocket'],
      ['sec-websocket-version', '13'],
      ['sec-websocket-key', randomBytes(16).toString('base64')],
    ];
    if (subprotocols.length > 0) handshake.push(['sec-websocket-protocol', subprotocols.join(', ')]);
    const request = await this.prepare(input, { method: 'GET', headers: [...handshake, ...headerPairs(options.headers)] });
    return openWebSocket(this.context, this.app, request);
  }

  // --- internals ----------------------------------------------------------------------------------

  private prepare(input: string | URL, init: TestRequestInit): Promise<PreparedRequest> {
    const jar = this.jar;
    return prepareRequest(input, init, {
      base: this.settings.base,
      defaultHeaders: this.settings.headers,
      cookie: (scheme, hostname, path) => (jar === null ? null : jar.header(scheme, hostname, path)),
    });
  }

  private contextFor(): ClientContext {
    const errors = this.errors;
    return {
      options: this.settings,
      errorStream: createErrorStream(errors),
      log: (message) => {
        errors.push(message.endsWith('\n') ? message : `${message}\n`);
      },
      recordViolation: (violation) => {
        this.violations.push(violation);
      },
      scopeState: () => (this.lifespan === null ? {} : { ...this.lifespan.state }),
      track: (end) => {
        this.live.add(end);
        return () => this.live.delete(end);
      },
    };
  }
}
