// The servers under test, in the order each round visits them. Every one is a separate process
// answering the same routes (bench/apps/payloads.mjs); only one runs at a time.
import { fileURLToPath } from 'node:url';

const here = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const CLI = here('../../dist/cli/main.js');
const SYNC_APP = `${here('../apps/gateway-sync.mjs')}:app`;
const ASYNC_APP = `${here('../apps/gateway-async.mjs')}:app`;

/** The tsgi command line, exactly as a user would run it. */
const tsgi = (backend, app) => (port) => [
  CLI, '--backend', backend, '--bind', `127.0.0.1:${port}`, '--log-level', 'warning', app,
];

export const BASELINE = 'node-http';
export const CEILING = 'uws-raw';

export const SERVERS = [
  { name: 'tsgi-uws-sync', role: 'tsgi', argv: tsgi('uws', SYNC_APP), about: 'tsgi CLI, uws backend, plain-function app' },
  { name: 'tsgi-uws-async', role: 'tsgi', argv: tsgi('uws', ASYNC_APP), about: 'tsgi CLI, uws backend, async-function app' },
  { name: 'tsgi-node', role: 'tsgi', argv: tsgi('node', SYNC_APP), about: 'tsgi CLI, node backend, plain-function app' },
  { name: BASELINE, role: 'baseline', argv: (port) => [here('../servers/node-http.mjs'), '--port', String(port)], about: 'http.createServer, bare handler' },
  { name: CEILING, role: 'ceiling', argv: (port) => [here('../servers/uws-raw.mjs'), '--port', String(port)], about: 'uWebSockets.js App().any(), bare handler' },
];

export function findServers(names) {
  if (names === undefined) return SERVERS;
  return names.map((name) => {
    const server = SERVERS.find((candidate) => candidate.name === name);
    if (server === undefined) throw new Error(`unknown server ${JSON.stringify(name)}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
    return server;
  });
}
