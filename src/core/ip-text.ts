/**
 * IPv6 addresses as text, the way Node shows a peer's address: shared by the proxy-header and
 * PROXY-protocol parsers, so an address reads the same whichever way it arrived.
 */

/**
 * The form libuv's inet_ntop gives, which is what net.Socket.remoteAddress shows: lower-case
 * hex without leading zeros, the longest run of two or more zero words (the first, on a tie) as
 * "::", and "::a.b.c.d" / "::ffff:a.b.c.d" for IPv4-compatible and IPv4-mapped addresses.
 */
export function formatIPv6(w: ArrayLike<number>): string {
  let runStart = -1;
  let runLength = 0;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j;
  }
  if (runLength < 2) runStart = -1;
  if (runStart === 0 && (runLength === 6 || (runLength === 5 && w[5] === 0xffff))) {
    const dotted = `${w[6] >> 8}.${w[6] & 0xff}.${w[7] >> 8}.${w[7] & 0xff}`;
    return runLength === 6 ? `::${dotted}` : `::ffff:${dotted}`;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === runStart) {
      text += '::';
      i += runLength - 1;
      continue;
    }
    if (i !== 0 && i !== runStart + runLength) text += ':';
    text += w[i].toString(16);
  }
  return text;
}
