import { createHash, type Hash } from 'node:crypto';
import { Transform } from 'node:stream';
import { RegistryError } from '../../errors.ts';

/** Algorithm of a validated digest (`sha256:…` or `sha512:…`). */
export function algOf(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/**
 * Passes bytes through while feeding `hash` and counting them. When `expect` is given, the stream fails
 * at its end — before the last byte's end-of-stream reaches the consumer — if the content's digest
 * differs, so an upstream request fed by it is aborted instead of completed.
 */
export function digestTee(hash: Hash, onBytes: (n: number) => void, expect?: { digest: string; error: () => Error }): Transform {
  return new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      onBytes(chunk.length);
      cb(null, chunk);
    },
    flush(cb) {
      if (!expect) return cb();
      const actual = `${algOf(expect.digest)}:${hash.digest('hex')}`;
      cb(actual === expect.digest ? null : expect.error());
    },
  });
}

/** Verifies a whole blob read from the upstream against the digest it was asked for. */
export function verifyingTee(digest: string): Transform {
  return digestTee(createHash(algOf(digest)), () => {}, {
    digest,
    error: () => new RegistryError('DIGEST_INVALID', `upstream content of ${digest} does not match its digest`),
  });
}
