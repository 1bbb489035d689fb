/**
 * What a request's headers say about its framing and its Host, noted while the core visits them
 * (for the environ and for event scopes alike), and the rules that refuse a request before any
 * app sees it (RFC 9112 §3.2, §6.1, §6.3; docs/spec.md §8). They live here, once, for every
 * backend: whatever its parser let through, a request is refused when
 *
 * - its version is not HTTP/1.0 or 1.1 (505; a backend serves a later 1.x as 1.1);
 * - it has several Content-Length headers: parsers that disagree on which one counts are how
 *   requests get smuggled;
 * - it has more header fields than --limit-request-fields (431);
 * - it is HTTP/1.1 without a Host header, or has several, or one that is not `host[:port]`;
 * - it has a Transfer-Encoding on HTTP/1.0, or one whose last coding is not chunked (400), or
 *   codings before chunked that the server would have to decode (501).
 */

import type { ForwardingHeaders } from './proxy.js';

export interface BodyFraming {
  /** Content-Length as a number; -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** More than one Content-Length header. */
  ambiguous: boolean;
  /** Host headers seen, and the first one's value. */
  hosts: number;
  host: string;
  /** The Transfer-Encoding values, joined with ', '. */
  codings: string;
  /** Header fields seen, and the most allowed (--limit-request-fields). */
  fields: number;
  readonly fieldLimit: number;
  /** X-Forwarded-* and Forwarded, when the request carries any (allocated only then). */
  forwarding: ForwardingHeaders | null;
}

export function newFraming(fieldLimit: number): BodyFraming {
  return { contentLength: -1, chunked: false, ambiguous: false, hosts: 0, host: '', codings: '', fields: 0, fieldLimit, forwarding: null };
}

export function resetFraming(framing: BodyFraming): void {
  framing.fields = 0;
  framing.forwarding = null;
  framing.contentLength = -1;
  framing.chunked = false;
  framing.ambiguous = false;
  framing.hosts = 0;
  framing.host = '';
  framing.codings = '';
}

export function noteContentLength(framing: BodyFraming, value: string): void {
  if (framing.contentLength !== -1) framing.ambiguous = true;
  framing.contentLength = Number(value);
}

export function noteTransferEncoding(framing: BodyFraming, value: string): void {
  framing.chunked = true;
  framing.codings = framing.codings === '' ? value : `${framing.codings}, ${value}`;
}

/**
 * Notes a header that may be a forwarding one (`x-forwarded-*`, `forwarded`); called for names
 * that start with `x` or `f`, so the common headers cost one character test.
 */
export function noteForwarding(framing: BodyFraming, lowerName: string, value: string): void {
  let field: keyof ForwardingHeaders;
  switch (lowerName) {
    case 'x-forwarded-for':
      field = 'forwardedFor';
      break;
    case 'x-forwarded-proto':
      field = 'forwardedProto';
      break;
    case 'x-forwarded-host':
      field = 'forwardedHost';
      break;
    case 'x-forwarded-port':
      field = 'forwardedPort';
      break;
    case 'forwarded':
      field = 'forwarded';
      break;
    default:
      return;
  }
  const forwarding = (framing.forwarding ??= { forwardedFor: '', forwardedProto: '', forwardedHost: '', forwardedPort: '', forwarded: '' });
  const previous = forwarding[field];
  forwarding[field] = previous === '' ? value : `${previous}, ${value}`;
}

export function noteHost(framing: BodyFraming, value: string): void {
  if (framing.hosts++ === 0) framing.host = value;
}

/** A body follows the head (chunked, or a positive Content-Length). */
export function hasBody(framing: BodyFraming): boolean {
  return framing.chunked || framing.contentLength > 0;
}

/** Why a request is refused, and with which status. */
export interface Refusal {
  readonly status: 400 | 431 | 501 | 505;
  readonly reason: string;
  /**
   * The request's framing is sound (only its size is refused): its body, if any, can be skipped
   * like any unread body, so the answer goes out as an ordinary response that closes the connection.
   */
  readonly framingSound?: boolean;
}

/** IP-literal, IPv4 or reg-name (RFC 3986), and an optional port. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(?::[0-9]*)?$/;

const SEVERAL_LENGTHS: Refusal = { status: 400, reason: 'the request has more than one Content-Length header' };
const NO_HOST: Refusal = { status: 400, reason: 'an HTTP/1.1 request needs a Host header' };
const SEVERAL_HOSTS: Refusal = { status: 400, reason: 'the request has more than one Host header' };
const CODING_ON_HTTP10: Refusal = { status: 400, reason: 'an HTTP/1.0 request cannot have a Transfer-Encoding header' };

/** The reason to refuse a request with these headers, or null when its framing and Host are sound. */
export function framingProblem(framing: BodyFraming, protocol: string): Refusal | null {
  if (protocol !== 'HTTP/1.1' && protocol !== 'HTTP/1.0') {
    return { status: 505, reason: `${protocol} is not supported: send HTTP/1.1 or HTTP/1.0` };
  }
  if (framing.fields > framing.fieldLimit) {
    return { status: 431, reason: `the request has ${framing.fields} header fields; this server accepts at most ${framing.fieldLimit}`, framingSound: true };
  }
  if (framing.ambiguous) return SEVERAL_LENGTHS;
  if (framing.hosts > 1) return SEVERAL_HOSTS;
  if (framing.hosts === 0) {
    if (protocol !== 'HTTP/1.0') return NO_HOST;
  } else if (!HOST.test(framing.host)) {
    return { status: 400, reason: `the Host header ${JSON.stringify(framing.host)} is not a valid host[:port]` };
  }
  if (framing.chunked) {
    if (protocol === 'HTTP/1.0') return CODING_ON_HTTP10;
    const codings = framing.codings.toLowerCase().split(',');
    if (codings[codings.length - 1]!.trim() !== 'chunked') {
      return { status: 400, reason: `the Transfer-Encoding ${JSON.stringify(framing.codings)} does not end in chunked, so the body's length cannot be known` };
    }
    if (codings.length > 1) {
      return { status: 501, reason: `the transfer coding ${JSON.stringify(framing.codings)} is not supported; send the body with chunked alone` };
    }
  }
  return null;
}
