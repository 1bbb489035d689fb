/**
 * The HAProxy PROXY protocol, versions 1 (one text line) and 2 (binary), which load balancers
 * (HAProxy, AWS NLB, GCP, …) put in front of a TCP connection's first bytes to say who the client
 * really was (https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt).
 *
 * A pure parser: it looks at the bytes a connection sent so far and says whether they hold a whole
 * header, need more, or cannot be one. It says 'invalid' as early as the bytes allow, so a client
 * that sent no header (a plain `GET`, a TLS hello) is told apart after its first byte, and a
 * malformed header is refused before the 107-byte or 16-byte mark where that is possible: the
 * spec asks receivers to abort "as soon as possible".
 *
 * It runs once per connection: no per-call closures, one scratch array for IPv6 words, and the
 * only allocations are the result and its address strings.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv6 } from './ip-text.js';

export interface ProxyAddresses {
  /** The original client: address (IPv4 dotted, IPv6 in Node's canonical compressed lower-case form as net.Socket.remoteAddress would give, e.g. '2001:db8::1') and port. */
  source: { address: string; port: number };
  destination: { address: string; port: number };
}

export type ProxyHeaderResult =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; reason: string }
  | { kind: 'header'; length: number; addresses: ProxyAddresses | null };

/** The most bytes a valid header can take; a caller that has buffered this many without 'header' closes the connection. */
export const MAX_PROXY_HEADER_BYTES: number = 16 + 65535;

/** v1's longest line, CRLF included ("PROXY UNKNOWN" with two full IPv6 addresses and ports). */
const V1_MAX_LINE = 107;
/** "PROXY " */
const V1_PREFIX = Uint8Array.of(0x50, 0x52, 0x4f, 0x58, 0x59, 0x20);
/** "\r\n\r\n\0\r\nQUIT\n": chosen by the spec to be rejected by every common protocol's parser. */
const V2_SIGNATURE = Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a);
const V2_FIXED = 16;

const SPACE = 0x20;
const CR = 0x0d;
const LF = 0x0a;

const V2_LOCAL = 0;
const AF_UNSPEC = 0;
const AF_INET = 1;
const AF_UNIX = 3; // AF_INET6 is 2
const PROTO_UNSPEC = 0;
const PROTO_STREAM = 1;
const PROTO_DGRAM = 2;
/** Address block bytes each family needs with STREAM: two addresses, then two ports (none for UNIX). */
const BLOCK_BYTES = [0, 4 + 4 + 2 + 2, 16 + 16 + 2 + 2, 108 + 108];

const INCOMPLETE: ProxyHeaderResult = Object.freeze({ kind: 'incomplete' });
const NO_HEADER = 'the connection did not start with a PROXY protocol header';

/** Parses the start of `data` (the first bytes the connection sent, possibly only some of them). */
export function parseProxyHeader(data: Uint8Array): ProxyHeaderResult {
  if (data.length === 0) return INCOMPLETE;
  const first = data[0];
  if (first === V1_PREFIX[0]) return parseV1(data);
  if (first === V2_SIGNATURE[0]) return parseV2(data);
  return invalid(NO_HEADER);
}

function invalid(reason: string): ProxyHeaderResult {
  return { kind: 'invalid', reason };
}

// ---------------------------------------------------------------------------------------------
// Version 2

function parseV2(data: Uint8Array): ProxyHeaderResult {
  const n = data.length;
  const signatureSeen = n < V2_SIGNATURE.length ? n : V2_SIGNATURE.length;
  for (let i = 1; i < signatureSeen; i++) {
    if (data[i] !== V2_SIGNATURE[i]) return invalid(NO_HEADER);
  }
  if (n <= 12) return INCOMPLETE;

  const version = data[12] >> 4;
  const command = data[12] & 0x0f;
  if (version !== 2) return invalid(`the PROXY v2 version is ${version}, not 2`);
  if (command > 1) return invalid(`the PROXY v2 command is ${command}, neither LOCAL (0) nor PROXY (1)`);
  if (n === 13) return INCOMPLETE;

  // LOCAL (a proxy's own health check) keeps the connection's addresses, and the spec says its
  // family byte is ignored, so it is checked only for PROXY.
  const family = data[13] >> 4;
  const protocol = data[13] & 0x0f;
  let needed = 0;
  if (command !== V2_LOCAL) {
    if (family > AF_UNIX) return invalid(`the PROXY v2 address family is ${family}, not 0 to 3`);
    if (protocol > PROTO_DGRAM) return invalid(`the PROXY v2 transport protocol is ${protocol}, not 0 to 2`);
    // The bytes after the header are an HTTP byte stream: a datagram flow cannot be one.
    if (protocol === PROTO_DGRAM) return invalid('the PROXY v2 transport is DGRAM, not STREAM');
    if (protocol === PROTO_STREAM) needed = BLOCK_BYTES[family];
  }
  if (n < V2_FIXED) return INCOMPLETE;

  const blockLength = (data[14] << 8) | data[15];
  if (blockLength < needed) {
    return invalid(`the PROXY v2 address block is ${blockLength} bytes, short of the ${needed} its family needs`);
  }
  const length = V2_FIXED + blockLength;
  if (n < length) return INCOMPLETE;

  // UNSPEC (family or protocol) and UNIX say "use the connection's own addresses": the spec lets
  // a receiver accept these, and a UNIX path is no client address to report. TLVs after the
  // addresses are covered by blockLength and skipped.
  if (command === V2_LOCAL || protocol === PROTO_UNSPEC || family === AF_UNSPEC || family === AF_UNIX) {
    return { kind: 'header', length, addresses: null };
  }
  const at = V2_FIXED;
  if (family === AF_INET) {
    return {
      kind: 'header',
      length,
      addresses: {
        source: { address: ipv4At(data, at), port: (data[at + 8] << 8) | data[at + 9] },
        destination: { address: ipv4At(data, at + 4), port: (data[at + 10] << 8) | data[at + 11] },
      },
    };
  }
  // AF_INET6: the only family left.
  return {
    kind: 'header',
    length,
    addresses: {
      source: { address: ipv6At(data, at), port: (data[at + 32] << 8) | data[at + 33] },
      destination: { address: ipv6At(data, at + 16), port: (data[at + 34] << 8) | data[at + 35] },
    },
  };
}

function ipv4At(data: Uint8Array, at: number): string {
  return `${data[at]}.${data[at + 1]}.${data[at + 2]}.${data[at + 3]}`;
}

function ipv6At(data: Uint8Array, at: number): string {
  for (let i = 0; i < 8; i++) words[i] = (data[at + 2 * i] << 8) | data[at + 2 * i + 1];
  return formatIPv6(words);
}

// ---------------------------------------------------------------------------------------------
// Version 1

function parseV1(data: Uint8Array): ProxyHeaderResult {
  const n = data.length;
  const prefixSeen = n < V1_PREFIX.length ? n : V1_PREFIX.length;
  for (let i = 1; i < prefixSeen; i++) {
    if (data[i] !== V1_PREFIX[i]) return invalid(NO_HEADER);
  }
  if (n <= V1_PREFIX.length) return INCOMPLETE;

  // The line ends at its first CR, which must be followed by LF; a lone LF never ends it (the
  // spec forbids tolerating one), so one before the CR is an error, not the end.
  const limit = n < V1_MAX_LINE ? n : V1_MAX_LINE;
  let cr = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const byte = data[i];
    if (byte === CR) {
      cr = i;
      break;
    }
    if (byte === LF) return invalid('the PROXY v1 line has an LF without a CR before it');
  }
  if (cr === -1 || cr + 2 > V1_MAX_LINE) {
    if (n >= V1_MAX_LINE || cr !== -1) return invalid(`the PROXY v1 line has no CRLF within ${V1_MAX_LINE} bytes`);
    const reason = checkV1Line(data, V1_PREFIX.length, n, false);
    return typeof reason === 'string' ? invalid(reason) : INCOMPLETE;
  }
  const line = checkV1Line(data, V1_PREFIX.length, cr, true);
  if (typeof line === 'string') return invalid(line);
  if (cr + 1 === n) return INCOMPLETE; // a valid line whose LF is still to come
  if (data[cr + 1] !== LF) return invalid('the PROXY v1 line has a CR without an LF after it');
  return { kind: 'header', length: cr + 2, addresses: line };
}

const FIELD_NAMES = ['', '', 'protocol', 'source address', 'destination address', 'source port', 'destination port'];
/** Where each field of the line starts and ends, by its number (1 is "PROXY"): scratch, reused. */
const fieldStart = new Int32Array(7);
const fieldEnd = new Int32Array(7);

/**
 * Checks the fields of the line in [start, end) (after "PROXY "). With `complete`, the line
 * ended there: the result is the reason it is invalid, or its addresses (null for UNKNOWN).
 * Without, the bytes stop there: the last field may be unfinished and is checked only as the
 * start of a valid one, and the result is a reason or null.
 */
function checkV1Line(data: Uint8Array, start: number, end: number, complete: boolean): string | ProxyAddresses | null {
  let count = 1;
  let from = start;
  for (;;) {
    let to = from;
    while (to < end && data[to] !== SPACE) to++;
    const finished = to < end || complete;
    count++;
    if (to === from && finished) {
      return 'the PROXY v1 line has an empty field (its fields take exactly one space between them)';
    }
    // "UNKNOWN" may be followed by anything at all up to the CRLF, which the receiver ignores.
    if (count === 2 && finished && equalsAscii(data, from, to, 'UNKNOWN')) return null;
    if (count <= 6) {
      fieldStart[count] = from;
      fieldEnd[count] = to;
    } else if (!complete) {
      return 'the PROXY v1 line has more than 6 fields';
    }
    if (to === end) break;
    from = to + 1;
  }

  const last = count < 6 ? count : 6;
  let family = 0;
  for (let field = 2; field <= last; field++) {
    const finished = complete || field < count;
    const from = fieldStart[field];
    const to = fieldEnd[field];
    if (field === 2) {
      if (equalsAscii(data, from, to, 'TCP4')) family = 4;
      else if (equalsAscii(data, from, to, 'TCP6')) family = 6;
      else if (finished || !startsProtocol(data, from, to)) return 'the PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN';
    } else if (field <= 4) {
      if (!checkAddress(data, from, to, family, finished)) {
        return `the PROXY v1 ${FIELD_NAMES[field]} is not a valid IPv${family} address`;
      }
    } else if (readPort(data, from, to) === -1) {
      return `the PROXY v1 ${FIELD_NAMES[field]} is not a decimal number from 0 to 65535`;
    }
  }
  if (!complete) return null;
  // Counted after the fields are checked, so a misspelt protocol is named as such.
  if (count !== 6) return `the PROXY v1 line has ${count} fields, not 6`;
  return {
    source: { address: v1Address(data, 3, family), port: readPort(data, fieldStart[5], fieldEnd[5]) },
    destination: { address: v1Address(data, 4, family), port: readPort(data, fieldStart[6], fieldEnd[6]) },
  };
}

/** An unfinished protocol field that can still become one of the three. */
function startsProtocol(data: Uint8Array, from: number, to: number): boolean {
  return startsAscii(data, from, to, 'TCP4') || startsAscii(data, from, to, 'TCP6') || startsAscii(data, from, to, 'UNKNOWN');
}

function equalsAscii(data: Uint8Array, from: number, to: number, text: string): boolean {
  return to - from === text.length && startsAscii(data, from, to, text);
}

/** The bytes in [from, to) are the start of `text` (all of it, or less). */
function startsAscii(data: Uint8Array, from: number, to: number, text: string): boolean {
  if (to - from > text.length) return false;
  for (let i = from; i < to; i++) {
    if (data[i] !== text.charCodeAt(i - from)) return false;
  }
  return true;
}

function latin1(data: Uint8Array, from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += String.fromCharCode(data[i]);
  return text;
}

/**
 * A finished field is checked whole. An unfinished IPv4 one is checked exactly as a start (it
 * is one when its shortest completion is an address); an unfinished IPv6 one only for its
 * characters and length, and whole once it ends, as the CRLF must come within 107 bytes anyway.
 */
function checkAddress(data: Uint8Array, from: number, to: number, family: number, finished: boolean): boolean {
  const text = latin1(data, from, to);
  if (family === 4) {
    if (finished) return isIPv4(text);
    const octets = text.endsWith('.') || text === '' ? `${text}0` : text;
    let dots = 0;
    for (let i = 0; i < octets.length; i++) if (octets.charCodeAt(i) === 0x2e) dots++;
    return dots <= 3 && isIPv4(octets + '.0'.repeat(3 - dots));
  }
  // Node's isIPv6 accepts a zone ("fe80::1%eth0"), which the protocol has no room for.
  if (finished) return isIPv6(text) && !text.includes('%');
  return text.length <= 45 && /^[0-9A-Fa-f:.]*$/.test(text) && !text.includes(':::');
}

function v1Address(data: Uint8Array, field: number, family: number): string {
  const from = fieldStart[field];
  const to = fieldEnd[field];
  // isIPv4 refuses leading zeros, so a valid IPv4 text is already in Node's form.
  if (family === 4) return latin1(data, from, to);
  readIPv6Words(data, from, to, words);
  return formatIPv6(words);
}

/** A port as v1 writes it, without sign or leading zeros; -1 when it is not one. */
function readPort(data: Uint8Array, from: number, to: number): number {
  const digits = to - from;
  if (digits > 5 || (digits > 1 && data[from] === 0x30)) return -1;
  let port = 0;
  for (let i = from; i < to; i++) {
    const digit = data[i] - 0x30;
    if (digit < 0 || digit > 9) return -1;
    port = port * 10 + digit;
  }
  return port > 65535 ? -1 : port;
}

// ---------------------------------------------------------------------------------------------
// IPv6 text, both ways

/** Scratch for one address's eight 16-bit words; parsing is synchronous, so one is enough. */
const words = new Uint16Array(8);

/** Reads an address that isIPv6 already accepted into `out`; "::" and a dotted IPv4 tail included. */
function readIPv6Words(data: Uint8Array, from: number, to: number, out: Uint16Array): void {
  out.fill(0);
  let count = 0;
  let gap = -1;
  let i = from;
  if (data[i] === 0x3a) {
    gap = 0;
    i += 2;
  }
  while (i < to) {
    let j = i;
    let value = 0;
    while (j < to && data[j] !== 0x3a && data[j] !== 0x2e) value = value * 16 + hexValue(data[j++]);
    if (j < to && data[j] === 0x2e) {
      readDottedTail(data, i, to, out, count);
      count += 2;
      break;
    }
    out[count++] = value;
    i = j;
    if (i < to) {
      if (i + 1 < to && data[i + 1] === 0x3a) {
        gap = count;
        i += 2;
      } else {
        i += 1;
      }
    }
  }
  if (gap !== -1) {
    const shift = 8 - count;
    for (let k = count - 1; k >= gap; k--) out[k + shift] = out[k];
    for (let k = gap; k < gap + shift; k++) out[k] = 0;
  }
}

function hexValue(byte: number): number {
  if (byte <= 0x39) return byte - 0x30;
  return (byte | 0x20) - 0x61 + 10;
}

function readDottedTail(data: Uint8Array, from: number, to: number, out: Uint16Array, at: number): void {
  let octet = 0;
  let index = 0;
  let high = 0;
  for (let i = from; i <= to; i++) {
    if (i === to || data[i] === 0x2e) {
      if ((index & 1) === 0) high = octet;
      else out[at + (index >> 1)] = (high << 8) | octet;
      index++;
      octet = 0;
    } else {
      octet = octet * 10 + data[i] - 0x30;
    }
  }
}

