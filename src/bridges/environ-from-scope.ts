/**
 * An environ (docs/spec.md §2) built from an http scope (§10), for running a gateway app where an
 * event app is expected. The mapping is the one the server itself uses, so a gateway app sees the
 * same environ behind the bridge as on its own.
 */
import { cgiKey } from '../core/environ.js';
import { TSGI_VERSION } from '../spec/constants.js';
import type { HttpScope } from '../spec/event-types.js';
import type { Environ, ErrorStream, InputStream } from '../spec/types.js';

export function environFromScope(scope: HttpScope, input: InputStream, errors: ErrorStream): Environ {
  const server = scope.server;
  const client = scope.client;
  const environ: Environ = {
    REQUEST_METHOD: scope.method,
    SCRIPT_NAME: scope.root_path,
    PATH_INFO: scope.path,
    QUERY_STRING: scope.query_string,
    SERVER_NAME: server === null ? 'localhost' : server[0],
    SERVER_PORT: server === null || server[1] === null ? '' : String(server[1]),
    SERVER_PROTOCOL: scope.http_version === '1.0' ? 'HTTP/1.0' : 'HTTP/1.1',
    REMOTE_ADDR: client === null ? '' : client[0],
    REMOTE_PORT: client === null || client[1] === 0 ? '' : String(client[1]),
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': scope.scheme === 'https' ? 'https' : 'http',
    'tsgi.input': input,
    'tsgi.errors': errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': false,
    'tsgi.run_once': false,
    'tsgi.raw_path': scope.raw_path,
  };
  for (const [name, value] of scope.headers) {
    if (name === 'content-type') environ.CONTENT_TYPE = value;
    else if (name === 'content-length') environ.CONTENT_LENGTH = value;
    // As the server does (§2): a name with '_' would alias the '-' spelling, so it is dropped.
    else if (name.indexOf('_') === -1) {
      const key = cgiKey(name);
      const previous = environ[key];
      environ[key] = typeof previous === 'string' ? `${previous}, ${value}` : value;
    }
  }
  return environ;
}

/** An error stream that writes to the process's stderr, for hosts that give none. */
export const STDERR_ERRORS: ErrorStream = {
  write(text: string): void {
    process.stderr.write(text);
  },
  writelines(lines: Iterable<string>): void {
    for (const line of lines) process.stderr.write(line);
  },
  flush(): void {},
};
