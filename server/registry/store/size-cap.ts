import { Readable } from 'node:stream';
import { RegistryError } from '../errors.ts';

/**
 * Past the cap, this much more of a request body is still read (and dropped) so that the client finishes
 * sending and reads the 413; a body longer still is cut off (its connection reset) rather than read on.
 */
export const DRAIN_BYTES = 16 * 1024 * 1024;

export function blobTooLarge(max: number, what = 'blob'): RegistryError {
  return new RegistryError(
    'SIZE_INVALID',
    `${what} larger than ${max} bytes, the most this registry accepts (AIBOMGEN_MAX_BLOB_BYTES); nothing of it was kept`,
    { maxBlobBytes: max },
    {},
    413,
  );
}

/**
 * `body` passed on while at most `room` bytes came; past that nothing more is passed on, the rest is drained
 * (up to DRAIN_BYTES, then the body is destroyed) and the stream ends early. `over()` then says so; the caller
 * discards what was written and answers `blobTooLarge`.
 */
export function capBody(body: Readable, room: number): { stream: Readable; over: () => boolean } {
  let over = false;
  async function* limited(): AsyncGenerator<Buffer> {
    let n = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (!over && n <= room) {
        yield chunk;
        continue;
      }
      over = true;
      if (n - room > DRAIN_BYTES) {
        body.destroy();
        return;
      }
    }
  }
  return { stream: Readable.from(limited(), { objectMode: false }), over: () => over };
}
