import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, link, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../errors.ts';

/**
 * Where the embedded store keeps things under its root (`<dataDir>/registry`), shared by the store and the
 * garbage collector (../gc.ts):
 *   blobs   blobs/<alg>/<2 hex>/<hex>           content-addressed: blobs and manifest bytes alike
 *   links   repos/<repo>/_links/<alg>/<hex>     a repository "has" a blob or manifest when its link exists
 *   uploads uploads/<id>/{data,repo,owner}      sessions in progress
 *   in use  in-use/<host>.<pid>                 one file per process with the store open (gc refuses then)
 */
export type Alg = 'sha256' | 'sha512';

export function splitDigest(digest: string): [Alg, string] {
  const m = /^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$/.exec(digest);
  if (!m) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${digest}`);
  return m[1] ? ['sha256', m[2]!] : ['sha512', m[4]!];
}

export class Layout {
  constructor(readonly root: string) {}
  get blobsDir(): string {
    return join(this.root, 'blobs');
  }
  get reposDir(): string {
    return join(this.root, 'repos');
  }
  get uploadsDir(): string {
    return join(this.root, 'uploads');
  }
  get inUseDir(): string {
    return join(this.root, 'in-use');
  }
  blobPath(digest: string): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.blobsDir, alg, hex.slice(0, 2), hex);
  }
  linkPath(repo: string, digest: string): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.reposDir, repo, '_links', alg, hex);
  }
  uploadDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
    return join(this.uploadsDir, id);
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

export async function hashFile(path: string, alg: Alg): Promise<string> {
  const h = createHash(alg);
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

/** Flushes a file's (or a directory's entries') data to the disk. */
export async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/**
 * Makes the verified file `src` the content of `target` (a content-addressed path) and removes `src`. An
 * existing target is never replaced when it holds that content (a reader may have it open, and it already is
 * the blob): the hard link fails with EEXIST instead of overwriting. Only a target whose bytes do not hash to
 * its name (a file damaged outside the registry) is replaced, atomically. `src` is fsynced before and the
 * directory after, so a crash leaves either no blob or the whole one.
 */
export async function commitFile(src: string, target: string, alg: Alg, hex: string): Promise<void> {
  await fsyncPath(src);
  try {
    await link(src, target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    if ((await hashFile(target, alg)) !== hex) await rename(src, target);
  }
  await rm(src, { force: true });
  await fsyncPath(dirname(target));
}
