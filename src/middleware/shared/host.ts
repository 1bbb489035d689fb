/**
 * Reading a `Host` header (RFC 9110 §7.2: `uri-host [ ":" port ]`) the same way in every
 * middleware that decides by host name or builds a URL from it. The server refuses malformed
 * `Host` headers before any app runs, but middleware may run on any host of the contract, and a
 * value that goes into a `Location` header or a host check must never be taken on trust.
 */

/** A parsed `Host` value. */
export interface HostParts {
  /** Lower-case, without a trailing dot; an IPv6 literal without its brackets, in canonical form. */
  hostname: string;
  /** The port digits as sent, `''` when none was given. */
  port: string;
  /** Whether `hostname` is an IPv6 literal (it needs brackets in a URL). */
  ipv6: boolean;
}

// RFC 3986 reg-name (unreserved, sub-delims, pct-encoded) and IPv4: what may stand before the port.
const REG_NAME = /^[a-z0-9\-._~!$&'()*+,;=%]+$/;
const IPV6 = /^[0-9a-f:.]+$/;
const PORT = /^[0-9]*$/;

/**
 * `value` split into host name and port, or null when it is not a valid `Host` value (empty, a
 * bare IPv6 address without brackets, a path or userinfo in it, a non-numeric port).
 */
export function parseHost(value: string | undefined): HostParts | null {
  if (value === undefined) return null;
  const text = value.trim().toLowerCase();
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return null;
    const rest = text.slice(close + 1);
    if (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1)))) return null;
    const hostname = canonicalIpv6(text.slice(1, close));
    if (hostname === null) return null;
    return { hostname, port: rest.slice(1), ipv6: true };
  }
  const colon = text.indexOf(':');
  const name = colon === -1 ? text : text.slice(0, colon);
  const port = colon === -1 ? '' : text.slice(colon + 1);
  if (!PORT.test(port)) return null;
  const hostname = withoutTrailingDot(name);
  if (hostname === '' || !REG_NAME.test(hostname)) return null;
  return { hostname, port, ipv6: false };
}

/** The IPv6 literal `address` (no brackets) in canonical text form (`0:0::1` → `::1`), or null. */
export function canonicalIpv6(address: string): string | null {
  if (!IPV6.test(address) || !address.includes(':')) return null;
  try {
    // The WHATWG URL parser implements RFC 5952's canonical form; it is the contract-free way to get it.
    const host = new URL(`http://[${address}]/`).hostname;
    return host.slice(1, -1);
  } catch {
    return null;
  }
}

/** `hostname` and `port` as the authority of a URL (IPv6 in brackets, no port when `port` is ''). */
export function formatHost(parts: Pick<HostParts, 'hostname' | 'ipv6'>, port: string): string {
  const host = parts.ipv6 ? `[${parts.hostname}]` : parts.hostname;
  return port === '' ? host : `${host}:${port}`;
}

/** `example.com.` (a fully qualified name) names the same host as `example.com`. */
function withoutTrailingDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}
