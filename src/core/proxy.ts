/**
 * The logic behind `--proxy-headers` and `--forwarded-allow-ips`: which peers may speak for the
 * client (ProxyTrust), and what a request looks like from the client's side of the trusted proxies
 * (resolveForwarding). Pure: no sockets, no environ. Garbage in a header is ignored, never thrown.
 *
 * The chain. The addresses of a `Forwarded` header's `for=` parameters, or of X-Forwarded-For, are
 * a chain of hops, left to right, and the peer (the socket's address) is its last hop. Each proxy
 * appends the address it received the request from, so a hop was written by the hop to its right:
 * only what a trusted proxy wrote can be believed. The walk therefore starts at the peer (which
 * must be trusted, or nothing is resolved) and goes left while the hop is an IP address of a
 * trusted proxy; the hop where it stops is the client. When every hop is trusted, the leftmost
 * is the client.
 *
 * Unknown hops. A hop that is not an IP address (RFC 7239's `unknown` and `_obfuscated` names, a
 * `Forwarded` element without `for=`, or garbage a proxy let through) also stops the walk: nothing
 * to its left can be believed, since an unknown machine wrote it. Its text is never used as the
 * client address (an app would log it, rate-limit on it, or pass it to a resolver); the client is
 * instead the last hop the walk went through, the trusted proxy that received the request from
 * the unknown hop (the peer itself when the unknown hop is the rightmost one). Scheme and host
 * still come from the position where the walk stopped: a trusted proxy wrote them.
 *
 * Scheme, host and port. For `Forwarded`, `proto=` and `host=` come from the element where the
 * walk stopped (the proxy that wrote that element saw the client's request). For X-Forwarded-Proto,
 * -Host and -Port, the value at the same index as the stopping hop in X-Forwarded-For when the list
 * has exactly as many values as X-Forwarded-For (every proxy appended to both); otherwise the
 * rightmost value, written by the nearest proxy. A chosen value that is not valid is ignored
 * (null); the next value is never tried. The port is X-Forwarded-Port, else the forwarded host's
 * port, else 443 or 80 for a forwarded scheme (a proxy that forwards a scheme without a port
 * means that scheme's port), else null.
 *
 * `Forwarded` takes precedence: when it is present, X-Forwarded-* are not read at all. A
 * `Forwarded` header that does not parse (an unterminated or misplaced quoted-string, a pair
 * without `=`, a parameter repeated in one element) is ignored as a whole and the client stays the
 * peer: a client that leaves a quoted-string open would otherwise swallow the elements its
 * proxies append, and its own element would pass for theirs. Proxies must therefore set or strip
 * whichever of the two headers they do not use, as they must strip X-Forwarded-For from clients.
 *
 * Addresses. IPv4 is dotted-decimal with no leading zeros (`010.0.0.1` is not an address: octal
 * or decimal is ambiguous). IPv6 is any RFC 4291 text form; a zone (`%eth0`) is dropped. An
 * IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is its IPv4 address throughout: it matches IPv4
 * entries, and an entry written that way (`::ffff:10.0.0.0/104`) is the IPv4 one (`10.0.0.0/8`).
 * `::/0` therefore covers IPv6 peers only and `0.0.0.0/0` IPv4 peers only, however they arrive.
 * Addresses taken from headers are returned canonical (RFC 5952: lower case, longest zero run
 * compressed, mapped as dotted IPv4); the peer, when it stays the client, is returned as given.
 */

import { formatIPv6 } from './ip-text.js';

/** The accepted forms, for the error of `ProxyTrust.parse`. */
const ACCEPTED_FORMS =
  "an IPv4 or IPv6 address ('127.0.0.1', '::1'), a CIDR network ('10.0.0.0/8', 'fd00::/8'), " +
  "'*' (every peer) or 'unix:' (unix-socket peers)";

/** How many recently seen addresses `ProxyTrust.trusts` remembers. */
const CACHE_LIMIT = 256;

/**
 * A parsed address: IPv4 as a uint32 in `v4` (and `v6` null), IPv6 as four uint32 words in `v6`
 * (and `v4` -1). IPv4-mapped IPv6 is stored as IPv4.
 */
interface Address {
  readonly v4: number;
  readonly v6: Uint32Array | null;
}

// --- addresses --------------------------------------------------------------------------------

/** A dotted-decimal IPv4 address as a uint32, or -1. Four parts 0-255, no leading zeros. */
function parseIPv4(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= length; i++) {
    const code = i < length ? text.charCodeAt(i) : 46; /* a final '.' closes the last part */
    if (code === 46 /* . */) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (code >= 48 && code <= 57) {
      if (digits > 0 && part === 0) return -1;
      part = part * 10 + (code - 48);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/** The eight 16-bit groups of an IPv6 address in any RFC 4291 text form (no zone), or null. */
function parseIPv6Groups(text: string): number[] | null {
  const length = text.length;
  if (length < 2 || length > 45) return null;
  const groups: number[] = [];
  let gap = -1; // where '::' stands, as an index into groups
  let i = 0;
  if (text.charCodeAt(0) === 58 /* : */) {
    if (text.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < length) {
    const start = i;
    let value = 0;
    while (i < length) {
      const digit = hexDigit(text.charCodeAt(i));
      if (digit < 0) break;
      value = value * 16 + digit;
      i++;
    }
    if (i < length && text.charCodeAt(i) === 46 /* . */) {
      // A trailing dotted IPv4 part: the last 32 bits.
      const v4 = parseIPv4(text.slice(start));
      if (v4 < 0 || groups.length > (gap >= 0 ? 5 : 6)) return null;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      i = length;
      break;
    }
    const size = i - start;
    if (size === 0 || size > 4) return null;
    groups.push(value);
    if (i === length) break;
    if (text.charCodeAt(i) !== 58) return null;
    i++;
    if (i < length && text.charCodeAt(i) === 58) {
      if (gap >= 0) return null;
      gap = groups.length;
      i++;
    } else if (i === length) {
      return null; // a single trailing ':'
    }
  }
  if (gap < 0) return groups.length === 8 ? groups : null;
  if (groups.length > 7) return null;
  const tail = groups.length - gap;
  for (let k = groups.length; k < 8; k++) groups.push(0);
  for (let k = 0; k < tail; k++) {
    groups[7 - k] = groups[gap + tail - 1 - k]!;
    groups[gap + tail - 1 - k] = 0;
  }
  return groups;
}

function fromGroups(groups: readonly number[]): Address {
  const words = new Uint32Array(4);
  for (let w = 0; w < 4; w++) words[w] = groups[2 * w]! * 65536 + groups[2 * w + 1]!;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { v4: words[3]!, v6: null };
  return { v4: -1, v6: words };
}

/** An IPv4 or IPv6 address (a zone is dropped), or null. No brackets, no port. */
function parseAddress(text: string): Address | null {
  if (text.indexOf(':') < 0) {
    const v4 = parseIPv4(text);
    return v4 < 0 ? null : { v4, v6: null };
  }
  const zone = text.indexOf('%');
  const groups = parseIPv6Groups(zone < 0 ? text : text.slice(0, zone));
  return groups === null ? null : fromGroups(groups);
}

function formatIPv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as '::'. */
function formatAddress(address: Address): string {
  const words = address.v6;
  if (words === null) return formatIPv4(address.v4);
  const groups: number[] = [];
  for (let w = 0; w < 4; w++) groups.push(words[w]! >>> 16, words[w]! & 0xffff);
  return formatIPv6(groups);
}

/** A decimal prefix length with no leading zeros, at most `max`, or -1. */
function parsePrefix(text: string, max: number): number {
  if (text.length === 0 || text.length > 3 || (text.length > 1 && text.charCodeAt(0) === 48)) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return -1;
    value = value * 10 + (code - 48);
  }
  return value <= max ? value : -1;
}

/** The mask of the first `bits` bits of a 32-bit word (0 ≤ bits ≤ 32), as a uint32. */
function wordMask(bits: number): number {
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

// --- trust -------------------------------------------------------------------------------------

/** Whether a trust covers an address already parsed: the walk's path, past the cache (set below). */
let trustsParsed: (trust: ProxyTrust, address: Address) => boolean;

/** Which peers may set X-Forwarded-* / Forwarded: addresses, CIDRs (IPv4 and IPv6), or '*'. */
export class ProxyTrust {
  /** '*' was listed: every peer, unix-socket peers included, is trusted. */
  readonly everyone: boolean;
  private readonly unix: boolean;
  /** IPv4 networks: network[i] is the masked address, mask[i] its mask, both uint32. */
  private readonly v4Networks: readonly number[];
  private readonly v4Masks: readonly number[];
  /** IPv6 networks: eight words each, the masked address then the mask. */
  private readonly v6Networks: readonly Uint32Array[];
  private readonly cache = new Map<string, boolean>();

  static {
    trustsParsed = (trust, address) => trust.everyone || trust.matches(address);
  }

  private constructor(
    everyone: boolean,
    unix: boolean,
    v4Networks: number[],
    v4Masks: number[],
    v6Networks: Uint32Array[],
  ) {
    this.everyone = everyone;
    this.unix = unix;
    this.v4Networks = v4Networks;
    this.v4Masks = v4Masks;
    this.v6Networks = v6Networks;
  }

  /**
   * Throws an Error naming the bad entry and the accepted forms ('127.0.0.1', '10.0.0.0/8', '::1',
   * 'fd00::/8', '*', 'unix:' for unix-socket peers) for anything else. Each entry may itself hold
   * several, separated by commas (`--forwarded-allow-ips 127.0.0.1,10.0.0.0/8`); blanks around
   * them and empty ones are ignored. A network whose address has host bits set (`10.1.2.3/8`)
   * means its network (`10.0.0.0/8`), as in nginx's set_real_ip_from.
   */
  static parse(entries: readonly string[]): ProxyTrust {
    let everyone = false;
    let unix = false;
    const v4Networks: number[] = [];
    const v4Masks: number[] = [];
    const v6Networks: Uint32Array[] = [];
    for (const entry of entries) {
      for (const piece of entry.split(',')) {
        const text = piece.trim();
        if (text === '') continue;
        if (text === '*') {
          everyone = true;
          continue;
        }
        if (text === 'unix:') {
          unix = true;
          continue;
        }
        const network = parseNetwork(text);
        if (network === null) {
          throw new Error(`'${text}' is not ${ACCEPTED_FORMS}`);
        }
        if (network.address.v6 === null) {
          const mask = wordMask(network.prefix);
          v4Networks.push((network.address.v4 & mask) >>> 0);
          v4Masks.push(mask);
        } else {
          const words = new Uint32Array(8);
          for (let w = 0; w < 4; w++) {
            const mask = wordMask(network.prefix - 32 * w);
            words[w] = (network.address.v6[w]! & mask) >>> 0;
            words[4 + w] = mask;
          }
          v6Networks.push(words);
        }
      }
    }
    return new ProxyTrust(everyone, unix, v4Networks, v4Masks, v6Networks);
  }

  /**
   * Whether this peer address is trusted. '' (a unix-socket peer: no address) is trusted only
   * when 'unix:' or '*' is listed. IPv4-mapped IPv6 ('::ffff:127.0.0.1') matches its IPv4
   * entries. Anything that is not an address is not trusted (unless '*' is listed). Results for
   * recently seen addresses are remembered in a small bounded Map.
   */
  trusts(address: string): boolean {
    if (this.everyone) return true;
    if (address === '') return this.unix;
    const cached = this.cache.get(address);
    if (cached !== undefined) return cached;
    const parsed = address.length <= 64 ? parseAddress(address) : null;
    const trusted = parsed !== null && this.matches(parsed);
    if (parsed !== null) {
      // Only addresses are remembered: garbage cannot push the proxies' addresses out.
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(address, trusted);
    }
    return trusted;
  }

  private matches(address: Address): boolean {
    const words = address.v6;
    if (words === null) {
      const value = address.v4;
      for (let i = 0; i < this.v4Networks.length; i++) {
        if ((value & this.v4Masks[i]!) >>> 0 === this.v4Networks[i]) return true;
      }
      return false;
    }
    for (const network of this.v6Networks) {
      if (
        (words[0]! & network[4]!) >>> 0 === network[0] &&
        (words[1]! & network[5]!) >>> 0 === network[1] &&
        (words[2]! & network[6]!) >>> 0 === network[2] &&
        (words[3]! & network[7]!) >>> 0 === network[3]
      ) {
        return true;
      }
    }
    return false;
  }
}

/** An address or CIDR entry; a mapped IPv6 network of /96 or longer becomes its IPv4 network. */
function parseNetwork(text: string): { address: Address; prefix: number } | null {
  if (text.indexOf('%') >= 0) return null;
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseAddress(addressText);
  if (address === null) return null;
  const mapped = address.v6 === null && addressText.indexOf(':') >= 0;
  if (slash < 0) return { address, prefix: address.v6 === null ? 32 : 128 };
  const prefix = parsePrefix(text.slice(slash + 1), address.v6 === null && !mapped ? 32 : 128);
  if (prefix < 0) return null;
  if (!mapped) return { address, prefix };
  if (prefix >= 96) return { address, prefix: prefix - 96 };
  // A short prefix over a mapped address (::ffff:0:0/80): an IPv6 network, as written.
  const words = new Uint32Array([0, 0, 0xffff, address.v4]);
  return { address: { v4: -1, v6: words }, prefix };
}

// --- forwarding headers ------------------------------------------------------------------------

/** The forwarding headers of one request, raw, as received ('' when absent; repeated headers joined with ', '). */
export interface ForwardingHeaders {
  forwardedFor: string;
  forwardedProto: string;
  forwardedHost: string;
  forwardedPort: string;
  forwarded: string;
}

/** What the request looks like from the client's side of the proxies. null fields: unchanged. */
export interface ProxiedView {
  /** The client address. */
  client: string;
  /** Only when RFC 7239 gives `for="[ip]:port"` / `ip:port`; null otherwise. */
  clientPort: number | null;
  scheme: 'http' | 'https' | null;
  /** host[:port] as the client sent it to the first proxy. */
  host: string | null;
  /**
   * The port the client connected to (X-Forwarded-Port, else from host, else 443/80 from the
   * forwarded scheme when the host has no port), null when nothing says.
   */
  port: number | null;
}

/** One hop of the chain: its canonical address (null when unknown), parsed, and from RFC 7239 its port. */
interface Hop {
  readonly address: string | null;
  readonly parsed: Address | null;
  readonly port: number | null;
}

const UNKNOWN_HOP: Hop = { address: null, parsed: null, port: null };

/** A port number 1-65535 in decimal (at most five digits), or -1. */
function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return -1;
  let value = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return -1;
    value = value * 10 + (code - 48);
  }
  return value >= 1 && value <= 65535 ? value : -1;
}

/** RFC 7239's obfuscated name or port: '_' then letters, digits, '.', '_' or '-'. */
function isObfuscated(text: string): boolean {
  if (text.length < 2 || text.charCodeAt(0) !== 95 /* _ */) return false;
  for (let i = 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const ok =
      (code >= 48 && code <= 57) ||
      (code >= 65 && code <= 90) ||
      (code >= 97 && code <= 122) ||
      code === 46 ||
      code === 95 ||
      code === 45;
    if (!ok) return false;
  }
  return true;
}

/**
 * A node of the chain: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1` (bare, no port), `[2001:db8::1]`,
 * `[2001:db8::1]:80`; the port may be obfuscated (`:_p1`, no port then). Anything else,
 * including `unknown` and obfuscated names, is an unknown hop.
 */
function parseNode(text: string): Hop {
  if (text.length === 0 || text.length > 80) return UNKNOWN_HOP;
  let host: string;
  let portText: string | null = null;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf(']');
    if (close < 0) return UNKNOWN_HOP;
    host = text.slice(1, close);
    if (host.indexOf(':') < 0) return UNKNOWN_HOP; // brackets hold IPv6 only
    if (close + 1 < text.length) {
      if (text.charCodeAt(close + 1) !== 58) return UNKNOWN_HOP;
      portText = text.slice(close + 2);
    }
  } else {
    const colon = text.indexOf(':');
    if (colon >= 0 && colon === text.lastIndexOf(':')) {
      host = text.slice(0, colon); // IPv4 with a port
      portText = text.slice(colon + 1);
      if (host.indexOf('.') < 0) return UNKNOWN_HOP;
    } else {
      host = text;
    }
  }
  const address = parseAddress(host);
  if (address === null) return UNKNOWN_HOP;
  // Dotted-decimal is parsed strictly, so an IPv4 address as written is already canonical.
  const canonical = address.v6 === null && host.indexOf(':') < 0 ? host : formatAddress(address);
  let port: number | null = null;
  if (portText !== null) {
    if (!isObfuscated(portText)) {
      port = parsePort(portText);
      if (port < 0) return UNKNOWN_HOP;
    }
  }
  return { address: canonical, parsed: address, port };
}

/** Where the walk stopped: the client, its port, and the index of the stopping hop (-1: the peer). */
interface Walk {
  client: string;
  clientPort: number | null;
  index: number;
}

/** The walk of the module comment, from the (trusted) peer leftwards. */
function walk(peer: string, hops: readonly Hop[], trust: ProxyTrust): Walk {
  const result: Walk = { client: peer, clientPort: null, index: -1 };
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    result.index = i;
    if (hop.address === null || hop.parsed === null) break;
    result.client = hop.address;
    result.clientPort = hop.port;
    if (!trustsParsed(trust, hop.parsed)) break;
  }
  return result;
}

/** ws and wss are the schemes of the same connections as http and https; others are ignored. */
function parseScheme(text: string | undefined): 'http' | 'https' | null {
  if (text === undefined) return null;
  switch (text.toLowerCase()) {
    case 'http':
    case 'ws':
      return 'http';
    case 'https':
    case 'wss':
      return 'https';
    default:
      return null;
  }
}

/** A reg-name character we accept in a host: letters, digits, '-', '.', '_', '~'. */
function isHostCode(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 45 ||
    code === 46 ||
    code === 95 ||
    code === 126
  );
}

/**
 * The port of a valid host[:port] (0 when it has none), or -1 when the text is not one: a name of
 * letters, digits and `-._~` (an IPv4 address is one), or an IPv6 address in brackets; then an
 * optional port 1-65535.
 */
function hostPort(text: string): number {
  if (text.length === 0 || text.length > 261) return -1;
  let end: number;
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf(']');
    if (close < 0) return -1;
    const inner = text.slice(1, close);
    if (inner.indexOf('%') >= 0 || parseIPv6Groups(inner) === null) return -1;
    end = close + 1;
  } else {
    end = 0;
    while (end < text.length && isHostCode(text.charCodeAt(end))) end++;
    if (end === 0 || end > 255) return -1;
  }
  if (end === text.length) return 0;
  if (text.charCodeAt(end) !== 58 /* : */) return -1;
  return parsePort(text.slice(end + 1));
}

/** The list elements of a comma-separated header, trimmed; empty elements are dropped. */
function splitList(value: string): string[] {
  const items: string[] = [];
  const length = value.length;
  let i = 0;
  while (i < length) {
    while (i < length && isSpace(value.charCodeAt(i))) i++;
    let end = value.indexOf(',', i);
    if (end < 0) end = length;
    const next = end + 1;
    while (end > i && isSpace(value.charCodeAt(end - 1))) end--;
    if (end > i) items.push(value.slice(i, end));
    i = next;
  }
  return items;
}

/** The value lined up with the stopping hop, else the rightmost one; undefined for no value. */
function pick(values: readonly string[], index: number, hops: number): string | undefined {
  if (values.length === 0) return undefined;
  if (index >= 0 && values.length === hops) return values[index];
  return values[values.length - 1];
}

function view(walked: Walk, scheme: 'http' | 'https' | null, hostText: string | undefined, portText: string | undefined): ProxiedView {
  let host: string | null = null;
  let port: number | null = portText === undefined ? null : parsePort(portText);
  if (port !== null && port < 0) port = null;
  if (hostText !== undefined) {
    const fromHost = hostPort(hostText);
    if (fromHost >= 0) {
      host = hostText;
      if (port === null && fromHost > 0) port = fromHost;
    }
  }
  if (port === null && scheme !== null) port = scheme === 'https' ? 443 : 80;
  return { client: walked.client, clientPort: walked.clientPort, scheme, host, port };
}

/** One element of a `Forwarded` header: the parameters this module reads. */
interface ForwardedElement {
  for: string | undefined;
  proto: string | undefined;
  host: string | undefined;
}

/** Which parameter a key names: 1 for, 2 proto, 3 host, 0 another (compared without case). */
function parameterOf(text: string, start: number, end: number): number {
  const size = end - start;
  if (size === 3 && sameLetters(text, start, 'for')) return 1;
  if (size === 5 && sameLetters(text, start, 'proto')) return 2;
  if (size === 4 && sameLetters(text, start, 'host')) return 3;
  return 0;
}

/** Whether `text` holds the lower-case letters of `word` at `start`, in any case. */
function sameLetters(text: string, start: number, word: string): boolean {
  for (let k = 0; k < word.length; k++) {
    if ((text.charCodeAt(start + k) | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/** An RFC 7230 tchar. */
function isTokenCode(code: number): boolean {
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 33 ||
    (code >= 35 && code <= 39) ||
    code === 42 ||
    code === 43 ||
    code === 45 ||
    code === 46 ||
    code === 94 ||
    code === 95 ||
    code === 96 ||
    code === 124 ||
    code === 126
  );
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

/** The content of a quoted-string with its quoted-pairs undone (the text ends in no lone '\\'). */
function unquote(text: string): string {
  let value = '';
  let chunk = 0;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 92 /* \ */) {
      value += text.slice(chunk, i);
      chunk = ++i; // the escaped character starts the next chunk
    }
  }
  return value + text.slice(chunk);
}

/**
 * The elements of a `Forwarded` header (RFC 7239 §4), or null when it does not parse. Keys are
 * tokens, case-insensitive; values are quoted-strings (escapes undone) or, leniently, any run of
 * visible ASCII other than `"`, `,` and `;` (so `for=192.0.2.60:8080` and `for=[::1]` are read
 * as meant). Blanks around `,`, `;` and `=` are allowed; empty elements and pairs are skipped.
 */
function parseForwarded(text: string): ForwardedElement[] | null {
  const elements: ForwardedElement[] = [];
  const length = text.length;
  let element: ForwardedElement = { for: undefined, proto: undefined, host: undefined };
  let pairs = 0;
  let separated = true; // a pair may start here
  let i = 0;
  for (;;) {
    while (i < length && isSpace(text.charCodeAt(i))) i++;
    if (i === length) break;
    const code = text.charCodeAt(i);
    if (code === 44 /* , */) {
      if (pairs > 0) elements.push(element);
      element = { for: undefined, proto: undefined, host: undefined };
      pairs = 0;
      separated = true;
      i++;
      continue;
    }
    if (code === 59 /* ; */) {
      separated = true;
      i++;
      continue;
    }
    if (!separated) return null;
    const keyStart = i;
    while (i < length && isTokenCode(text.charCodeAt(i))) i++;
    if (i === keyStart) return null;
    const parameter = parameterOf(text, keyStart, i);
    while (i < length && isSpace(text.charCodeAt(i))) i++;
    if (i === length || text.charCodeAt(i) !== 61 /* = */) return null;
    i++;
    while (i < length && isSpace(text.charCodeAt(i))) i++;
    let value: string;
    if (i < length && text.charCodeAt(i) === 34 /* " */) {
      i++;
      const start = i;
      let escapes = false;
      let closed = false;
      while (i < length) {
        const c = text.charCodeAt(i);
        if (c === 34) {
          closed = true;
          break;
        }
        if (c === 92 /* \ */) {
          escapes = true;
          i++;
          if (i === length) return null;
          const escaped = text.charCodeAt(i);
          if (escaped < 32 ? escaped !== 9 : escaped === 127) return null;
        } else if (c < 32 ? c !== 9 : c === 127) {
          return null;
        }
        i++;
      }
      if (!closed) return null;
      value = escapes ? unquote(text.slice(start, i)) : text.slice(start, i);
      i++; // the closing quote
    } else {
      const valueStart = i;
      while (i < length) {
        const c = text.charCodeAt(i);
        if (c <= 32 || c >= 127 || c === 34 || c === 44 || c === 59) break;
        i++;
      }
      value = text.slice(valueStart, i);
    }
    if (parameter === 1) {
      if (element.for !== undefined) return null;
      element.for = value;
    } else if (parameter === 2) {
      if (element.proto !== undefined) return null;
      element.proto = value;
    } else if (parameter === 3) {
      if (element.host !== undefined) return null;
      element.host = value;
    }
    pairs++;
    separated = false;
  }
  if (pairs > 0) elements.push(element);
  return elements;
}

function fromForwarded(peer: string, header: string, trust: ProxyTrust): ProxiedView {
  const elements = parseForwarded(header);
  if (elements === null) return { client: peer, clientPort: null, scheme: null, host: null, port: null };
  const hops: Hop[] = [];
  for (const element of elements) hops.push(element.for === undefined ? UNKNOWN_HOP : parseNode(element.for));
  const walked = walk(peer, hops, trust);
  const element = walked.index >= 0 ? elements[walked.index] : undefined;
  return view(walked, parseScheme(element?.proto), element?.host, undefined);
}

function fromXForwarded(peer: string, headers: ForwardingHeaders, trust: ProxyTrust): ProxiedView {
  const hops = splitList(headers.forwardedFor).map(parseNode);
  const walked = walk(peer, hops, trust);
  // X-Forwarded-For carries no ports worth believing: proxies that add one disagree on its meaning.
  walked.clientPort = null;
  const n = hops.length;
  const scheme = parseScheme(pick(splitList(headers.forwardedProto), walked.index, n));
  const host = pick(splitList(headers.forwardedHost), walked.index, n);
  const port = pick(splitList(headers.forwardedPort), walked.index, n);
  return view(walked, scheme, host, port);
}

/** null when the peer is not trusted or no forwarding header is present. */
export function resolveForwarding(peer: string, headers: ForwardingHeaders, trust: ProxyTrust): ProxiedView | null {
  if (
    headers.forwarded === '' &&
    headers.forwardedFor === '' &&
    headers.forwardedProto === '' &&
    headers.forwardedHost === '' &&
    headers.forwardedPort === ''
  ) {
    return null;
  }
  if (!trust.trusts(peer)) return null;
  if (headers.forwarded !== '') return fromForwarded(peer, headers.forwarded, trust);
  return fromXForwarded(peer, headers, trust);
}
