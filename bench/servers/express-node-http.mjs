// bench/apps/express.mjs on Node's own http.createServer: the reference for the
// tsgi-llhttp-express row (issue 12's target: tsgi at least as fast as this).
//
//   node bench/servers/express-node-http.mjs --port 8000
import http from 'node:http';
import { app } from '../apps/express.mjs';
import { announceListening, exitOnSignals, portFromArgs } from './common.mjs';

const server = http.createServer(app);
server.listen(portFromArgs(), '127.0.0.1', () => announceListening(server.address().port, 'express-node-http'));
exitOnSignals(() => server.close());
