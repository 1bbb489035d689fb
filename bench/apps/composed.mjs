// The sync benchmark app behind a typical middleware stack: compose(app, mount, cors, compress).
// /hello goes through the mount's fallback, CORS (no Origin: untouched) and compression (13
// bytes: below minSize, sent as is), so the rows against tsgi-llhttp-sync price the stack itself.
//
//   node dist/cli/main.js bench/apps/composed.mjs:app
import { compose, compress, cors, mount } from '../../dist/middleware/index.js';
import { app as sync } from './gateway-sync.mjs';

function admin(_environ, startResponse) {
  startResponse('200 OK', [['Content-Type', 'text/plain']]);
  return ['admin'];
}

export const app = compose(sync, [mount, { '/admin': admin }], [cors, { origin: ['https://example.com'] }], compress);
