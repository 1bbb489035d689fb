/**
 * What every exchange (request, websocket) needs from the TestClient that started it: the
 * options, the error log, the lifespan state, and a registry of live exchanges that
 * `client.close()` ends.
 */
import { stackOf } from '../core/response-head.js';
import type { ErrorStream } from '../spec/types.js';
import type { ContractViolation } from './contract.js';
import type { ResolvedOptions } from './options.js';

export interface ClientContext {
  readonly options: ResolvedOptions;
  /** `environ['tsgi.errors']`: to stderr, as the server writes it, and into `client.errors`. */
  readonly errorStream: ErrorStream;
  /** What the server would log (a fault, a misuse): recorded in `client.errors`. */
  log(message: string): void;
  /** A violation seen by the validator, whichever exchange it belongs to. */
  recordViolation(violation: ContractViolation): void;
  /** A fresh shallow copy of the lifespan state for one scope. */
  scopeState(): Record<string, unknown>;
  /**
   * Registers an exchange that `client.close()` must end (it awaits what `end` returns); returns
   * the function that unregisters it.
   */
  track(end: () => void | Promise<void>): () => void;
}

export function createErrorStream(errors: string[]): ErrorStream {
  const write = (text: string): void => {
    if (typeof text !== 'string') {
      throw new TypeError(`tsgi.errors.write() takes a string, got ${typeof text}; convert it with String() first`);
    }
    process.stderr.write(text);
    errors.push(text);
  };
  return Object.freeze({
    write,
    writelines(lines: Iterable<string>): void {
      for (const line of lines) write(line);
    },
    flush(): void {
      // Written synchronously; nothing is buffered.
    },
  });
}

/** A log line for an error the app raised: its stack, so the test output shows where. */
export function describeFault(label: string, what: string, error: unknown): string {
  return `${label}: ${what}:\n${stackOf(error)}`;
}
