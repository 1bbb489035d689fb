/**
 * Whether a Content-Type is worth compressing: mime-db's `compressible` flag for the type's
 * essence, else any text/* and any +json, +xml or +text suffix. Images, video, archives and
 * fonts are compressed already; compressing them again costs CPU and saves nothing.
 */
import db from 'mime-db';

/** How many distinct Content-Type values are remembered (apps use a handful). */
const CACHE_LIMIT = 512;
const cache = new Map<string, boolean>();
const TEXTUAL = /^text\/|\+(?:json|xml|text)$/;

/**
 * True when a response of this Content-Type should be compressed. `text/event-stream` is not:
 * events must reach the client as they are sent, and a proxy or client that buffers a
 * compressed stream would hold them back.
 */
export function isCompressibleType(contentType: string): boolean {
  let verdict = cache.get(contentType);
  if (verdict === undefined) {
    verdict = judge(contentType);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(contentType, verdict);
  }
  return verdict;
}

function judge(contentType: string): boolean {
  const semicolon = contentType.indexOf(';');
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (essence === '' || essence === 'text/event-stream') return false;
  const known = db[essence]?.compressible;
  if (known !== undefined) return known;
  return TEXTUAL.test(essence);
}
