// Pooled environ objects vs fresh ones (issue 2: "measure pooled environ objects against fresh
// ones and keep what is faster"). Runs the real buildEnviron from dist/ (fresh objects) against a
// pooled variant that recycles environs the only contract-preserving way: reset the fixed keys
// and delete the HTTP_* keys a request added (a key must be absent when its header is).
//
//   node --allow-natives-syntax bench/environ-pool.mjs
//
// Prints ns per environ (median of rounds) and whether recycled objects keep fast properties.
import { buildEnviron } from '../dist/core/environ.js';
import { RequestInput } from '../dist/core/input.js';

const hasNatives = (() => {
  try {
    return new Function('o', 'return %HasFastProperties(o)');
  } catch {
    return null;
  }
})();

const defaults = {
  serverName: '127.0.0.1',
  serverPort: '8000',
  urlScheme: 'http',
  multiprocess: false,
  errors: { write() {}, writelines() {}, flush() {} },
  emptyInput: RequestInput.empty(),
};

// Two header sets alternate, as real traffic mixes clients.
const headerSets = [
  [['host', 'localhost:8000'], ['user-agent', 'curl/8.0'], ['accept', '*/*']],
  [['host', 'localhost:8000'], ['user-agent', 'Mozilla/5.0'], ['accept', 'text/html'], ['accept-language', 'en'], ['cookie', 'a=1'], ['x-request-id', 'abc']],
];
function head(i) {
  const headers = headerSets[i & 1];
  return {
    method: 'GET', rawPath: '/hello', query: 'a=1', protocol: 'HTTP/1.1', remoteAddress: '127.0.0.1', remotePort: '50000',
    forEachHeader(visit) { for (const [k, v] of headers) visit(k, v); },
  };
}
const heads = [head(0), head(1)];
const framing = { contentLength: -1, chunked: false };

function fresh(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const environ = buildEnviron(heads[i & 1], defaults, framing);
    sink += environ.PATH_INFO.length;
  }
  return sink;
}

// The pooled variant: same fixed keys in the same order, recycled through a free list.
const pool = [];
// Same key cache and no-closure visitor as the real builder, so only the pooling differs.
const keyCache = new Map();
let target = null;
function visitPooled(name, value) {
  let key = keyCache.get(name);
  if (key === undefined) keyCache.set(name, (key = 'HTTP_' + name.toUpperCase().replace(/-/g, '_')));
  target[key] = value;
}
function acquire(h) {
  const environ = pool.pop() ?? {
    REQUEST_METHOD: '', SCRIPT_NAME: '', PATH_INFO: '', QUERY_STRING: '', SERVER_NAME: '', SERVER_PORT: '',
    SERVER_PROTOCOL: '', REMOTE_ADDR: '', REMOTE_PORT: '', 'tsgi.version': [1, 0], 'tsgi.url_scheme': 'http',
    'tsgi.input': null, 'tsgi.errors': null, 'tsgi.multithread': false, 'tsgi.multiprocess': false,
    'tsgi.run_once': false, 'tsgi.raw_path': '',
  };
  environ.REQUEST_METHOD = h.method; environ.PATH_INFO = h.rawPath; environ.QUERY_STRING = h.query;
  environ.SERVER_NAME = defaults.serverName; environ.SERVER_PORT = defaults.serverPort; environ.SERVER_PROTOCOL = h.protocol;
  environ.REMOTE_ADDR = h.remoteAddress; environ.REMOTE_PORT = h.remotePort; environ['tsgi.input'] = defaults.emptyInput;
  environ['tsgi.errors'] = defaults.errors; environ['tsgi.raw_path'] = h.rawPath;
  target = environ;
  h.forEachHeader(visitPooled);
  return environ;
}
function release(environ) {
  for (const key in environ) if (key.charCodeAt(0) === 72 /* H */ && key.startsWith('HTTP_')) delete environ[key];
  pool.push(environ);
}
function pooled(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) {
    const environ = acquire(heads[i & 1]);
    sink += environ.PATH_INFO.length;
    release(environ);
  }
  return sink;
}

function time(fn, n) {
  const start = process.hrtime.bigint();
  fn(n);
  return Number(process.hrtime.bigint() - start) / n;
}

const N = 200_000;
const ROUNDS = 9;
fresh(N); pooled(N); // warm up both
const results = { fresh: [], pooled: [] };
for (let r = 0; r < ROUNDS; r++) {
  results.fresh.push(time(fresh, N));
  results.pooled.push(time(pooled, N));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
const f = median(results.fresh);
const p = median(results.pooled);
console.log(`fresh environ : ${f.toFixed(1)} ns/request (median of ${ROUNDS} rounds of ${N})`);
console.log(`pooled environ: ${p.toFixed(1)} ns/request`);
console.log(`pooled / fresh: ${(p / f).toFixed(2)}x`);
if (hasNatives) {
  const e = acquire(heads[1]);
  release(e);
  const again = acquire(heads[0]);
  console.log(`recycled environ keeps fast properties: ${hasNatives(again)}`);
  console.log(`fresh environ keeps fast properties: ${hasNatives(buildEnviron(heads[1], defaults, framing))}`);
}
