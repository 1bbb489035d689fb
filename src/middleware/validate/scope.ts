/**
 * What the server must pass an event app (docs/spec.md §9–§12), checked before the app is called:
 * the scope's type and fields, and `receive`/`send` being functions.
 */
import { TOKEN } from './syntax.js';
import { show, type Report } from './violation.js';

const SCOPE_TYPES = new Set(['http', 'websocket', 'lifespan']);

export function checkScope(scope: unknown, receive: unknown, send: unknown, report: Report): void {
  const fail = (rule: string, section: string, problem: string, fix: string) => report(rule, section, 'server', problem, fix);
  if (scope === null || typeof scope !== 'object') {
    throw fail(
      'scope.type',
      '§9',
      `the app was called with the scope ${show(scope)}, not an object`,
      "pass a scope object with a type of 'http', 'websocket' or 'lifespan'",
    );
  }
  const s = scope as Record<string, unknown>;
  const type = s.type;
  if (typeof type !== 'string' || !SCOPE_TYPES.has(type)) {
    throw fail('scope.type', '§9', `scope.type is ${show(type)}`, "use 'http', 'websocket' or 'lifespan'");
  }
  if (typeof receive !== 'function' || typeof send !== 'function') {
    throw fail(
      'scope.receive-send',
      '§9',
      `the app was called with receive ${show(receive)} and send ${show(send)}`,
      'pass two functions that return promises: receive() and send(message)',
    );
  }
  const section = type === 'lifespan' ? '§12' : '§10';
  const asgi = s.asgi as Record<string, unknown> | null | undefined;
  if (asgi === null || typeof asgi !== 'object' || asgi.version !== '3.0' || (asgi.spec_version !== undefined && typeof asgi.spec_version !== 'string')) {
    throw fail(
      'scope.asgi',
      section,
      `scope.asgi is ${asgi !== null && typeof asgi === 'object' ? `{ version: ${show(asgi.version)}, spec_version: ${show(asgi.spec_version)} }` : show(asgi)}`,
      "set { version: '3.0', spec_version: '2.5' } ('2.0' for lifespan)",
    );
  }
  if (!isRecord(s.state)) {
    throw fail(
      'scope.state',
      section,
      `scope.state is ${show(s.state)}, not an object`,
      'pass the lifespan state (a shallow copy for connections), or {} without lifespan',
    );
  }
  if (type === 'lifespan') return;

  const isWebSocket = type === 'websocket';
  const version = s.http_version;
  if (isWebSocket ? version !== '1.1' : version !== '1.1' && version !== '1.0') {
    throw fail(
      'scope.http-version',
      isWebSocket ? '§11' : '§10',
      `scope.http_version is ${show(version)}`,
      isWebSocket ? "set '1.1' (websockets upgrade HTTP/1.1)" : "set '1.1' or '1.0'",
    );
  }
  if (!isWebSocket && (typeof s.method !== 'string' || !TOKEN.test(s.method))) {
    throw fail('scope.method', '§10', `scope.method is ${show(s.method)}, not an HTTP method token`, 'set the method as sent, e.g. GET');
  }
  const schemes = isWebSocket ? ['ws', 'wss'] : ['http', 'https'];
  if (!schemes.includes(s.scheme as string)) {
    throw fail(
      'scope.scheme',
      '§10',
      `scope.scheme is ${show(s.scheme)} in a${isWebSocket ? ' websocket' : 'n http'} scope`,
      `set '${schemes[0]}' or '${schemes[1]}'`,
    );
  }
  // As PATH_INFO (§10): '' only below a mount point (root_path set, as SCRIPT_NAME); `OPTIONS *`
  // (asterisk-form) has no path to start with '/'.
  const path = s.path;
  const mounted = typeof s.root_path === 'string' && s.root_path !== '';
  if (typeof path !== 'string' || !(path.startsWith('/') || (path === '' && mounted) || (path === '*' && s.method === 'OPTIONS'))) {
    throw fail(
      'scope.path',
      '§10',
      `scope.path is ${show(path)}`,
      "set the percent-decoded request path, which starts with '/' ('' only when root_path holds the whole path)",
    );
  }
  if (typeof s.raw_path !== 'string' || s.raw_path.includes('?')) {
    throw fail(
      'scope.raw-path',
      '§10',
      `scope.raw_path is ${show(s.raw_path)}`,
      'set the path exactly as sent, percent-encoding intact, without the query',
    );
  }
  if (typeof s.query_string !== 'string') {
    throw fail(
      'scope.query-string',
      '§10',
      `scope.query_string is ${show(s.query_string)}, not a string`,
      "set the query as sent, without '?' ('' when there is none)",
    );
  }
  const root = s.root_path;
  if (typeof root !== 'string' || (root !== '' && (!root.startsWith('/') || root.endsWith('/')))) {
    throw fail(
      'scope.root-path',
      '§10',
      `scope.root_path is ${show(root)}`,
      "set '' for an app at the root, or a mount path that starts and does not end with '/'",
    );
  }
  checkHeaderList(s.headers, fail);
  const client = s.client;
  if (client !== null && !(Array.isArray(client) && client.length === 2 && typeof client[0] === 'string' && isPort(client[1]))) {
    throw fail('scope.client', '§10', `scope.client is ${describePair(client)}`, 'set [address, port] (port 0 when unknown), or null');
  }
  const server = s.server;
  if (server !== null && !(Array.isArray(server) && server.length === 2 && typeof server[0] === 'string' && (server[1] === null || isPort(server[1])))) {
    throw fail(
      'scope.server',
      '§10',
      `scope.server is ${describePair(server)}`,
      'set [host, port] ([path, null] for a unix socket), or null',
    );
  }
  const extensions = s.extensions;
  if (!isRecord(extensions) || Object.values(extensions).some((value) => !isRecord(value))) {
    throw fail(
      'scope.extensions',
      '§10',
      `scope.extensions is ${show(extensions)}`,
      "set an object of objects, e.g. { 'http.response.trailers': {} } or {}",
    );
  }
  if (isWebSocket) {
    const offered = s.subprotocols;
    if (!Array.isArray(offered) || offered.some((item) => typeof item !== 'string')) {
      throw fail(
        'scope.subprotocols',
        '§11',
        `scope.subprotocols is ${show(offered)}`,
        'set the subprotocols the client offered, as an array of strings ([] when none)',
      );
    }
  }
}

function checkHeaderList(headers: unknown, fail: (rule: string, section: string, problem: string, fix: string) => Error): void {
  if (!Array.isArray(headers)) {
    throw fail(
      'scope.headers',
      '§10',
      `scope.headers is ${show(headers)}, not an array`,
      'pass every request header as a [name, value] pair of strings',
    );
  }
  headers.forEach((pair: unknown, index) => {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw fail(
        'scope.headers',
        '§10',
        `scope.headers[${index}] is ${describePair(pair)}, not a [name, value] pair of strings`,
        'pass every request header as a [name, value] pair of strings',
      );
    }
    if (pair[0] === '' || pair[0] !== pair[0].toLowerCase()) {
      throw fail('scope.headers', '§10', `scope.headers[${index}] has the name ${show(pair[0])}`, 'lower-case header names in scopes');
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isPort(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 65535;
}

function describePair(value: unknown): string {
  return Array.isArray(value) ? `[${value.map(show).join(', ')}]` : show(value);
}
