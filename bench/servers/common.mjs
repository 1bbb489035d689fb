// What the two bare servers share with the tsgi CLI's behaviour, so the harness can drive all of
// them the same way: `--port N` on the command line, 127.0.0.1 only, one "listening on" line on
// stderr, and a clean exit on SIGINT/SIGTERM.

export function portFromArgs(argv = process.argv.slice(2)) {
  const at = argv.indexOf('--port');
  const port = at === -1 ? 0 : Number(argv[at + 1]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`usage: --port N (0-65535); got ${argv[at + 1]}\n`);
    process.exit(2);
  }
  return port;
}

export function announceListening(port, name) {
  process.stderr.write(`listening on http://127.0.0.1:${port} with backend ${name}\n`);
}

/** The harness stops servers with SIGTERM; Ctrl-C sends SIGINT to the whole process group. */
export function exitOnSignals(close) {
  const stop = () => {
    try {
      close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
