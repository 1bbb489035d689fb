/**
 * The environ of docs/spec.md §2 for a prepared request, key for key as the server builds it:
 * PATH_INFO percent-decoded by the server's own decoder, `tsgi.raw_path` as sent, one `HTTP_*`
 * key per header (repeats joined with ', ', names with '_' dropped).
 */
import { decodePath } from '../core/path.js';
import { TSGI_VERSION } from '../spec/constants.js';
import type { Environ, ErrorStream, InputStream } from '../spec/types.js';
import type { PreparedRequest } from './request.js';

export function buildEnviron(
  request: PreparedRequest,
  client: readonly [string, number],
  input: InputStream,
  errors: ErrorStream,
): Environ {
  const environ: Environ = {
    REQUEST_METHOD: request.method,
    SCRIPT_NAME: '',
    PATH_INFO: decodePath(request.rawPath),
    QUERY_STRING: request.query,
    SERVER_NAME: request.hostname,
    SERVER_PORT: String(request.port),
    SERVER_PROTOCOL: 'HTTP/1.1',
    REMOTE_ADDR: client[0],
    REMOTE_PORT: String(client[1]),
    'tsgi.version': TSGI_VERSION,
    'tsgi.url_scheme': request.scheme,
    'tsgi.input': input,
    'tsgi.errors': errors,
    'tsgi.multithread': false,
    'tsgi.multiprocess': false,
    'tsgi.run_once': false,
    'tsgi.raw_path': request.rawPath,
  };
  for (const [name, value] of request.headers) {
    let key: string;
    if (name === 'content-type') key = 'CONTENT_TYPE';
    else if (name === 'content-length') key = 'CONTENT_LENGTH';
    else if (name.includes('_')) continue; // would alias the '-' spelling (docs/spec.md §2)
    else key = 'HTTP_' + name.toUpperCase().replace(/-/g, '_');
    const previous = environ[key];
    environ[key] = previous === undefined ? value : `${previous as string}, ${value}`;
  }
  return environ;
}
