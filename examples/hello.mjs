// The smallest tsgi app: `npx tsgi examples/hello.mjs:app` (or `npm start`).
export function app(environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain; charset=utf-8']]);
  return ['Hello, world!'];
}
