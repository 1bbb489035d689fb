/**
 * Answering a CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`). The
 * middleware answers it itself: the app never sees a preflight, so it need not route `OPTIONS`.
 * An allowed preflight gets `204 No Content` with the allow headers. A refused one gets
 * `403 Forbidden` without them and a plain-text body naming what was refused, which the browser
 * turns into a CORS error and a developer can read in the network tab.
 */
import type { CorsPolicy } from './options.js';

export interface PreflightAnswer {
  status: 204 | 403;
  headers: [string, string][];
  /** Empty for 204. */
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function answerPreflight(policy: CorsPolicy, origin: string, requestMethod: string, requestHeaders: string | undefined): PreflightAnswer {
  // The answer always depends on what the preflight asks for; on the origin too unless any is fine.
  const vary = policy.anyOrigin ? 'Access-Control-Request-Method, Access-Control-Request-Headers' : 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
  const method = requestMethod.trim();
  const asked = headerNames(requestHeaders);
  const refused: string[] = [];
  if (!policy.allowsOrigin(origin)) refused.push('origin');
  if (policy.methods === null ? !TOKEN.test(method) : !policy.methods.has(method)) refused.push('method');
  if (asked.some((name) => !TOKEN.test(name) || (policy.allowHeaders !== null && !policy.allowHeaders.has(name.toLowerCase())))) refused.push('headers');
  if (refused.length > 0) {
    const body = Buffer.from(`Disallowed CORS ${refused.join(', ')}`, 'utf8');
    return {
      status: 403,
      headers: [
        ['Content-Type', 'text/plain; charset=utf-8'],
        ['Content-Length', String(body.byteLength)],
        ['Vary', vary],
      ],
      body,
    };
  }
  const headers: [string, string][] = [['Access-Control-Allow-Origin', policy.anyOrigin ? '*' : origin]];
  if (policy.credentials) headers.push(['Access-Control-Allow-Credentials', 'true']);
  headers.push(['Access-Control-Allow-Methods', policy.methods === null ? method : policy.methodsValue]);
  const allowHeaders = policy.allowHeaders === null ? asked.join(', ') : policy.allowHeadersValue;
  if (allowHeaders !== '') headers.push(['Access-Control-Allow-Headers', allowHeaders]);
  if (policy.maxAgeValue !== null) headers.push(['Access-Control-Max-Age', policy.maxAgeValue]);
  headers.push(['Vary', vary]);
  return { status: 204, headers, body: EMPTY };
}

/** The header names in `Access-Control-Request-Headers` (a comma-separated list). */
function headerNames(value: string | undefined): string[] {
  if (value === undefined) return [];
  const names: string[] = [];
  for (const part of value.split(',')) {
    const name = part.trim();
    if (name !== '') names.push(name);
  }
  return names;
}
