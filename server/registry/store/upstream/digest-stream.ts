import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { RegistryError } from '../../errors.ts';

/** Algorithm of a validated digest (`sha256:…` or `sha512:…`). */
export function algOf(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** Passes bytes through, counting them. */
export function byteCounter(onBytes: (n: number) => void): Transform {
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

/**
 * Verifies a whole blob read from the upstream against the digest it was asked for. The last chunk is
 * held back until the digest matched: a client that knows the length (Content-Length) never receives all
 * of a blob that does not match — its transfer fails instead of completing with the wrong bytes.
 */
export function verifyingTee(digest: string): Transform {
  const hash = createHash(algOf(digest));
  let held: Buffer | undefined;
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      const out = held;
      held = chunk;
      cb(null, out);
    },
    flush(cb) {
      const actual = `${algOf(digest)}:${hash.digest('hex')}`;
      if (actual !== digest)
        return cb(new RegistryError('DIGEST_INVALID', `upstream content of ${digest} hashes to ${actual}`));
      cb(null, held);
    },
  });
}
