/**
 * The allowed-host list of `trustedHosts()`, checked once when the app is wrapped and compiled
 * into one matching function, so a typo (a port, a URL, a wildcard in the wrong place) fails at
 * start-up with a message instead of refusing every request at run time.
 */
import { domainToASCII } from 'node:url';
import { canonicalIpv6, parseHost, type HostParts } from '../shared/host.js';

/** Whether a request's host is allowed. */
export type HostMatcher = (host: HostParts) => boolean;

const NAME = 'trustedHosts()';

/**
 * Compiles `hosts` into a matcher, or null when `'*'` is listed: then no check is made at all,
 * and even a request without `Host` passes. Throws on a bad list.
 */
export function compileHostPatterns(hosts: unknown): HostMatcher | null {
  const list = typeof hosts === 'string' ? [hosts] : hosts;
  if (!Array.isArray(list)) {
    throw new TypeError(`${NAME} needs a list of allowed host names as its second argument, e.g. ['example.com', '*.example.com']; got ${describe(hosts)}`);
  }
  if (list.length === 0) {
    throw new TypeError(`${NAME} got an empty host list, which would refuse every request; list the host names the app answers to, or '*' for any`);
  }
  const exact = new Set<string>();
  const suffixes: string[] = [];
  let any = false;
  for (const pattern of list) {
    if (typeof pattern !== 'string') throw new TypeError(`${NAME} host patterns must be strings; got ${describe(pattern)}`);
    const text = pattern.trim().toLowerCase();
    if (text === '*') any = true;
    else if (text.startsWith('*.')) suffixes.push('.' + hostName(text.slice(2), pattern));
    else exact.add(hostName(text, pattern));
  }
  if (any) return null;
  return (host) => {
    if (exact.has(host.hostname)) return true;
    if (host.ipv6) return false;
    // `*.example.com` covers every subdomain at any depth, never `example.com` itself.
    for (const suffix of suffixes) if (host.hostname.length > suffix.length && host.hostname.endsWith(suffix)) return true;
    return false;
  };
}

/** The canonical host name a pattern names (lower-case ASCII, IPv6 without brackets). */
function hostName(text: string, pattern: string): string {
  if (text.includes('://') || text.includes('/')) {
    throw new TypeError(`${NAME} takes host names, not URLs: use '${hostOfUrl(text) ?? 'example.com'}' instead of '${pattern}'`);
  }
  if (text.includes('*')) {
    throw new TypeError(`${NAME} allows '*' only alone or as a leading '*.' ('*.example.com'); got '${pattern}'`);
  }
  const bracketed = text.startsWith('[') && text.endsWith(']');
  if (bracketed || text.split(':').length > 2) {
    const address = canonicalIpv6(bracketed ? text.slice(1, -1) : text);
    if (address === null) throw new TypeError(`${NAME}: '${pattern}' is not a valid IPv6 address`);
    return address;
  }
  if (text.includes(':')) {
    throw new TypeError(`${NAME} host patterns name no port (the port is ignored): use '${text.slice(0, text.indexOf(':'))}' instead of '${pattern}'`);
  }
  // Browsers send internationalized names in their ASCII (punycode) form.
  const ascii = /^[\x00-\x7f]*$/.test(text) ? text : domainToASCII(text);
  const parsed = parseHost(ascii);
  if (parsed === null || ascii === '') throw new TypeError(`${NAME}: '${pattern}' is not a valid host name`);
  return parsed.hostname;
}

function hostOfUrl(text: string): string | null {
  try {
    return new URL(text.includes('://') ? text : `http://${text}`).hostname || null;
  } catch {
    return null;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  return typeof value;
}
