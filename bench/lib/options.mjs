// The command line of bench/run.mjs. `--quick` is what CI runs: four scenarios (some with only
// the servers that matter there, see scenarios.mjs), short runs, two rounds, under 90 seconds
// including the build; it prints and asserts nothing.
import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench -- [options]

  --scenario a,b        scenarios to run (default: all; --quick: hello,echo-4k,pipelined-hello,ws-echo)
                        HTTP: hello json 64k 1m-stream echo-4k headers-30 pipelined-hello
                        websocket: ws-echo (10 messages in flight per connection) ws-echo-1 (1)
                        memory: slow-100m idle-10k
                        only when named: static-64k (a 64 KiB file from disk; the *-static servers)
  --servers a,b         servers to run (default: the ten below; ratios need node-http / uws-raw in the run):
                        tsgi-llhttp-sync tsgi-llhttp-async tsgi-llhttp-event tsgi-uws-sync
                        tsgi-uws-async tsgi-uws-event tsgi-node tsgi-node-event node-http uws-raw;
                        the gateway-app tsgi servers are n/a in ws-echo
                        (--quick without --servers runs some scenarios with fewer: scenarios.mjs)
                        only when named: tsgi-llhttp-sync-metrics (--metrics-bind on),
                        tsgi-llhttp-sync-composed (compose(app, mount, cors, compress)),
                        tsgi-llhttp-static and nginx-static (static-64k),
                        tsgi-llhttp-hono and hono-node-server (bench/apps/hono.mjs on tsgi and on
                        @hono/node-server; every HTTP scenario),
                        tsgi-llhttp-express and express-node-http (bench/apps/express.mjs, Express 5,
                        on tsgi --interface node and on http.createServer; hello and json only)
  --rounds N            rounds per scenario; each round runs every server once, in turn (default 5; --quick 2)
  --duration S          measured seconds per run (default 5; --quick 1); wrk rounds up to whole seconds
  --warmup S            discarded warm-up seconds before each measured window (default 1; --quick 0.5)
  --connections N       concurrent connections, or websockets in ws-echo (default 50)
  --driver NAME         HTTP load: autocannon (default, in-process) or wrk (must be installed; WRK=/path
                        overrides); ws-echo always uses its own client (the ws package, 2 processes)
  --workers N           autocannon worker threads (0: on the harness's main thread) or wrk threads;
                        default: autocannon 2 for pipelined-hello and 0 elsewhere (measured), wrk 1
  --quick               the CI smoke run (see above); never rewrites RESULTS.md
  -h, --help

A run with no --quick, --scenario or --servers is a full run: it also rewrites bench/RESULTS.md
and bench/results/ratio-vs-node.svg (the notes section of RESULTS.md is kept).`;

export function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: { type: 'string' },
      servers: { type: 'string' },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      driver: { type: 'string', default: 'autocannon' },
      workers: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const list = (text) => (text === undefined ? undefined : text.split(',').map((s) => s.trim()).filter(Boolean));
  const number = (name, text, fallback, { integer = false, min = 0 } = {}) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}; got ${JSON.stringify(text)}`);
    }
    return value;
  };
  if (!['autocannon', 'wrk'].includes(values.driver)) throw new Error(`--driver must be autocannon or wrk; got ${JSON.stringify(values.driver)}`);
  const quick = values.quick;
  return {
    help: values.help,
    quick,
    scenarios: list(values.scenario),
    servers: list(values.servers),
    rounds: number('rounds', values.rounds, quick ? 2 : 5, { integer: true, min: 1 }),
    duration: number('duration', values.duration, quick ? 1 : 5, { min: 0.2 }),
    warmup: number('warmup', values.warmup, quick ? 0.5 : 1, { min: 0 }),
    connections: number('connections', values.connections, 50, { integer: true, min: 1 }),
    driver: values.driver,
    // undefined: each scenario's own default (see scenarios.mjs)
    workers: number('workers', values.workers, undefined, { integer: true, min: 0 }),
    fullRun: !quick && values.scenario === undefined && values.servers === undefined,
  };
}
