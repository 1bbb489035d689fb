/**
 * A server's log outputs as its settings ask: the error log (stderr or --error-logfile) and the
 * access log (off, or stdout or --access-logfile, in --access-log-format). `serve()`'s
 * `errorSink`/`accessSink` options take their place (tests and embedders capture lines).
 */
import { compileAccessFormat } from '../core/access-log.js';
import type { AccessOutput } from '../core/exchange-report.js';
import type { ServerConfig } from './config.js';
import { openLogSink, type LogSink } from './log-files.js';

export interface ServerLogs {
  readonly errorSink: (text: string) => void;
  /** null when the access log is off. */
  readonly access: AccessOutput | null;
  /** Opens the log files again at their paths (USR1, after logrotate moved them). */
  reopen(): void;
  close(): void;
}

export function openLogs(config: ServerConfig): ServerLogs {
  const files: LogSink[] = [];
  let errorSink = config.errorSink;
  if (errorSink === undefined) {
    const file = openLogSink(config.errorLogfile, process.stderr);
    files.push(file);
    errorSink = (text) => file.write(text);
  }
  let access: AccessOutput | null = null;
  if (config.accessLog || config.accessLogfile !== '') {
    const format = compileAccessFormat(config.accessLogFormat);
    let write = config.accessSink;
    if (write === undefined) {
      const file = openLogSink(config.accessLogfile, process.stdout);
      files.push(file);
      write = (text) => file.write(text);
    }
    const sink = write;
    access = { format, write: (line) => sink(line + '\n') };
  }
  return {
    errorSink,
    access,
    reopen: () => files.forEach((file) => file.reopen()),
    close: () => files.forEach((file) => file.close()),
  };
}
