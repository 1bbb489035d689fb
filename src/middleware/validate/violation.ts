/**
 * The error `validate()` raises, and the one function every check goes through to raise it, so
 * each violation is reported the same way: `onViolation` first (a harness sees violations the
 * app catches and swallows), then thrown or rejected where the rule was broken.
 */

/** Who broke the rule: the server (what it passed in) or the app (what it did with it). */
export type Side = 'server' | 'app';

export interface ValidateOptions {
  /**
   * Called with every violation before it is thrown, so a test harness sees it even when the app
   * catches the error. Default: none.
   */
  onViolation?: (violation: ContractViolation) => void;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
  /** A short rule id, e.g. `start-response.status`. */
  readonly rule: string;
  /** The docs/spec.md section that states the rule, e.g. `§5`. */
  readonly section: string;
  /** Who broke it. */
  readonly side: Side;

  constructor(rule: string, section: string, side: Side, problem: string, fix: string) {
    super(`tsgi contract (docs/spec.md ${section}): ${problem} — ${fix}`);
    this.rule = rule;
    this.section = section;
    this.side = side;
  }
}

/** Builds a violation, tells `onViolation`, and returns it for the caller to throw or reject with. */
export type Report = (rule: string, section: string, side: Side, problem: string, fix: string) => ContractViolation;

export function reporter(options: ValidateOptions): Report {
  const onViolation = options.onViolation;
  return (rule, section, side, problem, fix) => {
    const violation = new ContractViolation(rule, section, side, problem, fix);
    onViolation?.(violation);
    return violation;
  };
}

/** `value` quoted for a message: strings as JSON (control characters visible), others by kind. */
export function show(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 60) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (typeof value === 'symbol' || typeof value === 'function') return typeof value;
  if (value instanceof Uint8Array) return `a ${value.constructor.name} of ${value.byteLength} bytes`;
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  const name = (value as object).constructor?.name;
  return name === undefined ? 'an object without a prototype' : `an object (${name})`;
}
