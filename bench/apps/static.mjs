// The sync benchmark app behind staticFiles(), serving bench/apps/payloads.mjs's static tree
// (written to a temp directory at start-up): GET /static/64k.bin is a 64 KiB file from disk,
// with the ETag, Last-Modified and Accept-Ranges headers nginx also sends.
//
//   node dist/cli/main.js bench/apps/static.mjs:app
import { staticFiles } from '../../dist/middleware/index.js';
import { app as sync } from './gateway-sync.mjs';
import { ensureStaticTree } from './payloads.mjs';

export const app = staticFiles(sync, { root: ensureStaticTree() });
