/**
 * The server's error log (stderr or --error-logfile, levelled): everything the server or an app
 * reports goes through here. Access-log lines are written by core/exchange-report.ts.
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
}

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go (default stderr); tests and embedders may redirect them. */
  errorSink?: ((text: string) => void) | undefined;
}

export function createLogger(options: LoggerOptions): Logger {
  const threshold = SEVERITY[options.level];
  const errorSink = options.errorSink ?? ((text: string) => process.stderr.write(text));
  return {
    level: options.level,
    enabled: (level) => SEVERITY[level] >= threshold,
    log(level, message) {
      if (SEVERITY[level] < threshold) return;
      errorSink(`[tsgi] [${level}] ${message}\n`);
    },
    appText: (text) => errorSink(text),
  };
}
