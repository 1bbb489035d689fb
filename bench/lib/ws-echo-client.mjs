// The ws-echo scenarios' client, run as its own process (the harness starts one or more and sums
// them, see drivers/ws-echo.mjs):
//
//   node bench/lib/ws-echo-client.mjs --port 8000 --path /ws --connections 25 --depth 10 --size 32
//
// Opens `connections` websockets with the `ws` package, then, for each "run SECONDS" line on
// stdin, keeps `depth` echo round trips in flight on every connection for that long: each echo
// that comes back is checked (same bytes, still a text message) and answered with the next
// message. When the time is up no new message is sent; once every in-flight one is back the
// window is reported. JSON lines on stdout: {"event":"ready",…} once connected, then one
// {"event":"window",…} per run; "exit" closes the connections and exits.
//
// The client is made as cheap as `ws` allows, so the server is what gets measured: an all-zero
// mask (ws then skips masking; every server unmasks all the same), no UTF-8 check of the echoes
// (the bytes are compared instead), and the sends a batch of incoming echoes causes go out in
// one write (cork until the end of the tick).
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const port = Number(option('--port', 0));
const path = option('--path', '/ws');
const connectionCount = Number(option('--connections', 50));
const depth = Number(option('--depth', 1));
const size = Number(option('--size', 32));
const binary = option('--binary', 'false') === 'true';

// A fixed pattern ('a' + (i * 7) % 26, like the HTTP echo body): a mangled echo is noticed.
const PAYLOAD = Buffer.from(Array.from({ length: size }, (_, i) => 97 + ((i * 7) % 26)));
const SEND_OPTIONS = { binary };
const zeroMask = (mask) => mask.fill(0);

// Round-trip times in a histogram: 1 µs buckets below 10 ms, 100 µs buckets up to 1 s, then one
// overflow bucket. Reported sparse ([µs, count] pairs); the harness merges and reads percentiles.
const FINE = 10_000;
const COARSE_STEP = 100;
const histogram = new Uint32Array(FINE + 10_000 + 1);
function record(micros) {
  const us = Math.round(micros);
  const bucket = us < FINE ? us : Math.min(FINE + Math.floor((us - FINE) / COARSE_STEP), histogram.length - 1);
  histogram[bucket]++;
}
function sparseHistogram() {
  const pairs = [];
  for (let bucket = 0; bucket < histogram.length; bucket++) {
    if (histogram[bucket] === 0) continue;
    const us = bucket < FINE ? bucket : FINE + (bucket - FINE) * COARSE_STEP;
    pairs.push([us, histogram[bucket]]);
  }
  return pairs;
}

let running = false;
let inFlight = 0; // over all connections
let messages = 0;
let mismatches = 0;
let closedDuringRun = 0;
let firstError = null;
let onDrained = null;

/** One websocket and the send times of its in-flight messages (a ring: echoes come back in order). */
class Connection {
  constructor(ws) {
    this.ws = ws;
    this.sentAt = new Float64Array(depth);
    this.head = 0;
    this.tail = 0;
    this.pending = 0;
    this.corked = false;
    this.closed = false;
    this.uncork = () => {
      this.corked = false;
      this.ws._socket?.uncork();
    };
    ws.on('message', (data, isBinary) => this.onEcho(data, isBinary));
    ws.on('close', () => this.onClose());
  }

  send() {
    this.sentAt[this.tail] = performance.now();
    this.tail = this.tail + 1 === depth ? 0 : this.tail + 1;
    this.pending++;
    inFlight++;
    this.ws.send(PAYLOAD, SEND_OPTIONS);
  }

  /** Holds this connection's writes until the end of the tick: one write for a batch of sends. */
  cork() {
    if (this.corked || this.ws._socket === undefined) return;
    this.corked = true;
    this.ws._socket.cork();
    process.nextTick(this.uncork);
  }

  onEcho(data, isBinary) {
    if (this.pending === 0) return; // an echo from before the window (cannot happen: windows drain)
    record((performance.now() - this.sentAt[this.head]) * 1000);
    this.head = this.head + 1 === depth ? 0 : this.head + 1;
    this.pending--;
    inFlight--;
    messages++;
    if (isBinary !== binary || !PAYLOAD.equals(data)) mismatches++;
    if (running) {
      this.cork();
      this.send();
    } else if (inFlight === 0) {
      onDrained?.();
    }
  }

  onClose() {
    if (this.closed) return;
    this.closed = true;
    open.delete(this);
    if (running || this.pending > 0) {
      closedDuringRun++;
      firstError ??= 'a websocket closed during the run';
      inFlight -= this.pending;
      this.pending = 0;
      if (!running && inFlight === 0) onDrained?.();
    }
  }
}

const open = new Set();

function connect() {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      generateMask: zeroMask,
    });
    const fail = (error) => {
      firstError ??= error?.message ?? String(error);
      resolve(false);
    };
    ws.once('error', fail);
    ws.once('unexpected-response', (_, response) => {
      fail(new Error(`the upgrade got HTTP ${response.statusCode}`));
      ws.terminate();
    });
    ws.once('open', () => {
      ws.off('error', fail);
      ws.on('error', (error) => (firstError ??= error.message));
      open.add(new Connection(ws));
      resolve(true);
    });
  });
}

const say = (message) => process.stdout.write(JSON.stringify(message) + '\n');

async function runWindow(seconds) {
  histogram.fill(0);
  messages = 0;
  mismatches = 0;
  closedDuringRun = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  running = true;
  for (const connection of open) {
    connection.cork();
    for (let i = 0; i < depth; i++) connection.send();
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  running = false;
  // Every message sent is waited for, so the count matches the work the server did.
  let stuck = 0;
  if (inFlight > 0) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      onDrained = () => (clearTimeout(timer), resolve());
    });
    onDrained = null;
    stuck = inFlight;
  }
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  say({
    event: 'window',
    messages,
    seconds: wallMs / 1000,
    cpuMicros: cpu.user + cpu.system,
    mismatches,
    closed: closedDuringRun,
    stuck,
    open: open.size,
    firstError,
    histogram: sparseHistogram(),
  });
}

const results = await Promise.all(Array.from({ length: connectionCount }, connect));
say({ event: 'ready', requested: connectionCount, open: open.size, failed: results.filter((ok) => !ok).length, firstError });

let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, value] = line.split(' ');
  if (command === 'run') queue = queue.then(() => runWindow(Number(value)));
  if (command === 'exit') {
    for (const { ws } of open) ws.terminate();
    process.exit(0);
  }
});
process.stdin.on('end', () => process.exit(0));
