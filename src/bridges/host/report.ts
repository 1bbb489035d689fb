/**
 * Where a hosted tsgi app's faults go when another server runs it (toNodeHandler, toFetch): the
 * caller's `onError`, or a line in the tsgi server's log format, so an app reports the same way
 * under every host.
 */
import { stackOf } from '../../core/response-head.js';
import type { Logger, LogLevel } from '../../server/logger.js';
import { ProtocolError } from '../../event/runtime.js';
import type { HttpScope } from '../../spec/event-types.js';

/**
 * Told of every fault of the app: an error it raised, a misuse of the protocol, a response it left
 * unfinished (`scope` is the request's), or a lifespan failure (`scope` is null).
 */
export type HostErrorHandler = (error: Error, scope: HttpScope | null) => void;

export class HostReport {
  constructor(
    /** The bridge's name, for the log lines. */
    private readonly host: string,
    private readonly onError: HostErrorHandler | undefined,
    /** Where default log lines go. */
    private readonly sink: (line: string) => void,
  ) {}

  /** `error` happened while serving `scope`; `summary` says what it means for the response. */
  requestFault(error: unknown, scope: HttpScope, summary: string): void {
    const asError = error instanceof Error ? error : new Error(stackOf(error));
    if (this.onError !== undefined) {
      this.callHandler(asError, scope);
      return;
    }
    // A protocol misuse is explained by its message; anything else needs its stack.
    const detail = error instanceof ProtocolError ? error.message : `${summary}:\n${stackOf(error)}`;
    this.sink(`[tsgi] [error] ${this.host}: ${label(scope)}: ${detail}\n`);
  }

  /** The tsgi Logger shape, for the lifespan runner. */
  logger(): Logger {
    return {
      level: 'warning',
      enabled: (level) => level === 'critical' || level === 'error' || level === 'warning',
      log: (level: LogLevel, message: string) => {
        if (level === 'info' || level === 'debug') return;
        if (this.onError !== undefined) this.callHandler(new Error(message), null);
        else this.sink(`[tsgi] [${level}] ${this.host}: ${message}\n`);
      },
      appText: (text) => this.sink(text),
    };
  }

  private callHandler(error: Error, scope: HttpScope | null): void {
    try {
      this.onError!(error, scope);
    } catch (failure) {
      // A broken handler must not hide the app's error, nor take the host down.
      this.sink(`[tsgi] [error] ${this.host}: onError threw while reporting ${stackOf(error)}:\n${stackOf(failure)}\n`);
    }
  }
}

function label(scope: HttpScope): string {
  return `${scope.method} ${scope.root_path}${scope.raw_path}${scope.query_string === '' ? '' : '?' + scope.query_string}`;
}

/** The process's stderr where there is one (Node, Deno, Bun), else the console (Workers). */
export function stderrSink(): (line: string) => void {
  const stderr = (globalThis as { process?: { stderr?: { write?: unknown } } }).process?.stderr;
  if (stderr !== undefined && typeof stderr.write === 'function') return (line) => void (stderr.write as (text: string) => unknown).call(stderr, line);
  return (line) => console.error(line.endsWith('\n') ? line.slice(0, -1) : line);
}
