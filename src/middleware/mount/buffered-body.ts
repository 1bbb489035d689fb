/**
 * When a mount holds apps with different input modes it streams, and reads the body whole for
 * the buffered ones before calling them (the server would have done that for a buffered app on
 * its own), so their synchronous `read()` works. The cap plays the server's --max-body-size.
 */
import { RequestInput } from '../../core/input.js';
import type { Environ } from '../../spec/types.js';

export class MountBodyTooLarge extends Error {}

/** Replaces `environ['tsgi.input']` with the same body, read whole; rejects past `limit` bytes. */
export async function bufferInput(environ: Environ, limit: number): Promise<void> {
  const declared = environ.CONTENT_LENGTH;
  if (declared !== undefined && Number(declared) > limit) throw new MountBodyTooLarge(`request body of ${declared} bytes exceeds ${limit}`);
  const buffered = new RequestInput(null, 'buffered', limit);
  for await (const chunk of environ['tsgi.input']) {
    buffered.onBodyChunk(chunk, false);
    if (buffered.bytesReceived > limit) throw new MountBodyTooLarge(`request body exceeds ${limit} bytes`);
  }
  buffered.onBodyChunk(new Uint8Array(0), true);
  environ['tsgi.input'] = buffered;
}
