/**
 * The server's two logs: the error log (stderr, levelled) and the access log (stdout, common log
 * format, off unless asked for). Everything the server or an app reports goes through here.
 */

export const LOG_LEVELS = ['critical', 'error', 'warning', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SEVERITY: Record<LogLevel, number> = { critical: 50, error: 40, warning: 30, info: 20, debug: 10 };

export interface Logger {
  readonly level: LogLevel;
  enabled(level: LogLevel): boolean;
  log(level: LogLevel, message: string): void;
  /** Raw text from `environ['tsgi.errors']`, written as the app gave it. */
  appText(text: string): void;
  /** One access-log line, or nothing when the access log is off. */
  access(line: string): void;
  readonly accessEnabled: boolean;
}

export interface LoggerOptions {
  level: LogLevel;
  accessLog: boolean;
  /** Where lines go; tests and embedders may redirect them. */
  errorSink?: (text: string) => void;
  accessSink?: (text: string) => void;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level];
  const errorSink = options.errorSink ?? ((text: string) => process.stderr.write(text));
  const accessSink = options.accessSink ?? ((text: string) => process.stdout.write(text));
  return {
    level: options.level,
    accessEnabled: options.accessLog,
    enabled: (level) => SEVERITY[level] >= threshold,
    log(level, message) {
      if (SEVERITY[level] < threshold) return;
      errorSink(`[tsgi] [${level}] ${message}\n`);
    },
    appText: (text) => errorSink(text),
    access(line) {
      if (options.accessLog) accessSink(line + '\n');
    },
  };
}
