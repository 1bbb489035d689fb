// Echoes the request body back with its content type. A plain (non-async) function, so tsgi
// reads the whole body (up to --max-body-size) before calling it and `read()` is synchronous.
export function app(environ, startResponse) {
  const body = environ['tsgi.input'].read();
  startResponse('200 OK', [
    ['Content-Type', environ.CONTENT_TYPE ?? 'application/octet-stream'],
    ['X-Echo-Method', environ.REQUEST_METHOD],
  ]);
  return [body];
}
