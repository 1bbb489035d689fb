/**
 * The CORS headers of an actual (non-preflight) response: the app's own headers with the allow
 * headers added for an allowed origin, and `Vary: Origin` whenever the answer depends on the
 * origin, for requests without one too, so a shared cache never hands one origin's answer to
 * another. The body is never touched.
 */
import { withoutHeaders, withVary } from '../shared/headers.js';
import type { CorsPolicy } from './options.js';

/** Edits a response's header list. */
export type HeaderEdit = (headers: Iterable<readonly [string, string]>) => [string, string][];

/** How to edit the response to a request with `origin` (undefined: no `Origin`), or null to leave it alone. */
export function responseEdit(policy: CorsPolicy, origin: string | undefined): HeaderEdit | null {
  if (origin === undefined || !policy.allowsOrigin(origin)) {
    // With '*' every origin gets the same answer, so nothing varies.
    return policy.anyOrigin ? null : (headers) => withVary(headers, 'Origin');
  }
  const added: [string, string][] = [['Access-Control-Allow-Origin', policy.anyOrigin ? '*' : origin]];
  if (policy.credentials) added.push(['Access-Control-Allow-Credentials', 'true']);
  if (policy.exposeHeadersValue !== null) added.push(['Access-Control-Expose-Headers', policy.exposeHeadersValue]);
  // What the middleware sets replaces what the app set under the same name: one answer, not two.
  const replaced = added.map(([name]) => name.toLowerCase());
  return (headers) => {
    const out = withoutHeaders(headers, ...replaced);
    out.push(...added);
    return policy.anyOrigin ? out : withVary(out, 'Origin');
  };
}
