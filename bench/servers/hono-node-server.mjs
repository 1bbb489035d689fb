// bench/apps/hono.mjs on @hono/node-server's serve(), the way Hono's Node guide runs an app: the
// reference for the tsgi-llhttp-hono row (issue 12's target: tsgi ≥ 1.5× this one's req/s).
//
//   node bench/servers/hono-node-server.mjs --port 8000
import { serve } from '@hono/node-server';
import app from '../apps/hono.mjs';
import { announceListening, exitOnSignals, portFromArgs } from './common.mjs';

const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: portFromArgs() }, (info) => announceListening(info.port, 'hono-node-server'));
exitOnSignals(() => server.close());
