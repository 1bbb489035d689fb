/**
 * `validate(app, options?)`: tsgi's wsgiref.validate. Wraps an app of either interface and checks
 * both sides of the contract while it runs, raising a ContractViolation that names the rule and
 * its section of docs/spec.md where a rule is broken.
 */
import type { EventApp } from '../../spec/event-types.js';
import type { GatewayApp } from '../../spec/types.js';
import { wrapEither } from '../shared/kind.js';
import { validateEvent } from './event.js';
import { validateGateway } from './gateway.js';
import { reporter, type ValidateOptions } from './violation.js';

export { ContractViolation, type ValidateOptions, type Side } from './violation.js';

export function validate<A extends GatewayApp | EventApp>(app: A, options: ValidateOptions = {}): A {
  if (options.onViolation !== undefined && typeof options.onViolation !== 'function') {
    throw new TypeError(`validate() option onViolation must be a function; got ${typeof options.onViolation}`);
  }
  const report = reporter(options);
  return wrapEither(app, 'validate', {
    gateway: (inner) => validateGateway(inner, report),
    event: (inner) => validateEvent(inner, report),
  });
}
