/**
 * The contract validator around each call of the app. Every call (a request, a websocket, the
 * lifespan) gets its own `validate()` wrapper, so a violation is charged to the exchange it
 * happened in: `onViolation` records it even when the app catches the thrown error, and the
 * exchange then fails the test with the first one.
 */
import { ContractViolation, validate } from '../middleware/validate/index.js';
import type { EventApp } from '../spec/event-types.js';
import type { GatewayApp } from '../spec/types.js';

export { ContractViolation };

export interface CheckedCall<A> {
  /** The app to call: validated, or the app itself when validation is off. */
  readonly app: A;
  /** Violations recorded during this call, in order. */
  readonly violations: ContractViolation[];
}

export function checkedCall<A extends GatewayApp | EventApp>(app: A, enabled: boolean, record: (violation: ContractViolation) => void): CheckedCall<A> {
  const violations: ContractViolation[] = [];
  if (!enabled) return { app, violations };
  const wrapped = validate(app, {
    onViolation: (violation) => {
      violations.push(violation);
      record(violation);
    },
  });
  return { app: wrapped, violations };
}
