/**
 * What a request's headers say about its body, noted while the core visits them (for the
 * environ and for event scopes alike). Several Content-Length headers make the framing
 * ambiguous: parsers that disagree on which one counts are how requests get smuggled, so such a
 * request is refused (`ResponseWire.refuseAmbiguousFraming`, docs/spec.md §8).
 */
export interface BodyFraming {
  /** Content-Length as a number; -1 when absent. */
  contentLength: number;
  chunked: boolean;
  /** More than one Content-Length header. */
  ambiguous: boolean;
}

export function resetFraming(framing: BodyFraming): void {
  framing.contentLength = -1;
  framing.chunked = false;
  framing.ambiguous = false;
}

export function noteContentLength(framing: BodyFraming, value: string): void {
  if (framing.contentLength !== -1) framing.ambiguous = true;
  framing.contentLength = Number(value);
}

/** A body follows the head (chunked, or a positive Content-Length). */
export function hasBody(framing: BodyFraming): boolean {
  return framing.chunked || framing.contentLength > 0;
}
