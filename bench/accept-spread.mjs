// How evenly do two processes share the connections to one port? The kernel and Node's cluster
// module decide it, not the HTTP layer, so this measures the three ways a Node server can share a
// port with a minimal HTTP responder: the cluster module's shared socket (SCHED_NONE, tsgi's
// default for llhttp and node), the cluster module's round robin (SCHED_RR: the primary accepts
// and passes each connection on), and SO_REUSEPORT (`reusePort: true`, Node >= 22.12 / 23.1: one
// socket per process, the kernel hashes connections over them).
//
//   node bench/accept-spread.mjs                       # the modes this Node has
//   npx -y -p node@24 node bench/accept-spread.mjs     # with reusePort
//
// For each mode: wrk with 64 keep-alive connections (how the long-lived connections land), then
// wrk with a new connection per request (how a stream of accepts is shared), 3 s each; it prints
// how many connections each process accepted.
import cluster from 'node:cluster';
import { spawn, fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
const RESPONSE_CLOSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok');
const [major, minor] = process.versions.node.split('.').map(Number);
const HAS_REUSE_PORT = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);

/** A process that serves on the port and counts the connections it accepted. */
function serveAndCount(listen) {
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.on('data', (data) => {
      const close = /connection: close/i.test(data.toString('latin1'));
      socket.write(close ? RESPONSE_CLOSE : RESPONSE);
      if (close) socket.end();
    });
    socket.on('error', () => undefined);
  });
  listen(server, () => process.send({ type: 'listening' }));
  process.on('message', (message) => {
    if (message.type === 'report') process.send({ type: 'count', accepted });
    if (message.type === 'reset') accepted = 0;
  });
}

const role = process.env.ACCEPT_SPREAD_ROLE;
if (role !== undefined) {
  const port = Number(process.env.ACCEPT_SPREAD_PORT);
  serveAndCount((server, ready) =>
    role === 'reuseport' ? server.listen({ port, host: '127.0.0.1', reusePort: true }, ready) : server.listen(port, '127.0.0.1', ready),
  );
} else {
  await main();
}

async function startProcesses(mode, port) {
  const env = { ...process.env, ACCEPT_SPREAD_ROLE: mode, ACCEPT_SPREAD_PORT: String(port) };
  const script = fileURLToPath(import.meta.url);
  let children;
  if (mode === 'reuseport') {
    children = [fork(script, [], { env }), fork(script, [], { env })];
  } else {
    cluster.setupPrimary({ exec: script });
    children = [cluster.fork(env), cluster.fork(env)].map((worker) => worker.process);
  }
  await Promise.all(children.map((child) => new Promise((resolve) => child.on('message', (m) => m.type === 'listening' && resolve()))));
  return children;
}

function ask(child, type) {
  return new Promise((resolve) => {
    const onMessage = (message) => {
      if (message.type !== 'count') return;
      child.off('message', onMessage);
      resolve(message.accepted);
    };
    child.on('message', onMessage);
    child.send({ type });
  });
}

function wrk(port, headers) {
  return new Promise((resolve) => {
    const child = spawn('wrk', ['-t1', '-c64', '-d3s', ...headers, `http://127.0.0.1:${port}/`], { stdio: 'ignore' });
    child.on('exit', resolve);
  });
}

async function main() {
  // The cluster module reads its policy once, before the first fork: one mode per process run.
  const mode = process.argv[2];
  if (mode === undefined) {
    const modes = ['shared', 'round-robin', ...(HAS_REUSE_PORT ? ['reuseport'] : [])];
    console.log(`Node ${process.versions.node}: connections accepted by each of two processes (wrk -t1 -c64, 3 s)\n`);
    console.log('| mode | 64 keep-alive connections | a new connection per request |');
    console.log('|---|---|---|');
    for (const each of modes) {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), each], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (data) => (out += data));
      await new Promise((resolve) => child.on('exit', resolve));
      process.stdout.write(out);
    }
    if (!HAS_REUSE_PORT) console.log('\n(reusePort needs Node >= 22.12 or 23.1: npx -y -p node@24 node bench/accept-spread.mjs)');
    return;
  }
  cluster.schedulingPolicy = mode === 'round-robin' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  const probe = net.createServer();
  const port = await new Promise((resolve) => probe.listen(0, '127.0.0.1', () => resolve(probe.address().port)));
  await new Promise((resolve) => probe.close(resolve));
  const children = await startProcesses(mode, port);
  const results = [];
  for (const headers of [[], ['-H', 'Connection: close']]) {
    await Promise.all(children.map((child) => child.send({ type: 'reset' })));
    await wrk(port, headers);
    const counts = await Promise.all(children.map((child) => ask(child, 'report')));
    const total = counts[0] + counts[1];
    results.push(`${counts.join(' / ')} (busiest ${Math.round((Math.max(...counts) / total) * 100)}%)`);
  }
  const label = { shared: 'cluster, shared socket (SCHED_NONE)', 'round-robin': 'cluster, round robin (SCHED_RR)', reuseport: 'SO_REUSEPORT (reusePort: true)' }[mode];
  console.log(`| ${label} | ${results[0]} | ${results[1]} |`);
  for (const child of children) child.kill();
}
