import { randomUUID } from 'node:crypto';
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RegistryError } from '../errors.ts';
import { commitFile, exists, Layout, splitDigest } from './layout.ts';
import type { BlobRead, BlobStat, ByteRange } from './port.ts';

/**
 * Content-addressed blob files of the embedded store and the per-repository links to them (paths: layout.ts).
 * A blob becomes visible only once its digest matched, by an atomic link into place (`commitFile`), and a
 * stored blob is never overwritten. Unlinking leaves the file: the garbage collector (../gc.ts) removes files
 * no manifest references any more.
 */
export class BlobContent {
  readonly layout: Layout;
  constructor(root: string) {
    this.layout = new Layout(root);
  }

  async stat(repo: string, digest: string): Promise<BlobStat | null> {
    if (!(await exists(this.layout.linkPath(repo, digest)))) return null;
    try {
      return { digest, size: (await stat(this.layout.blobPath(digest))).size };
    } catch {
      return null;
    }
  }

  async read(repo: string, digest: string, range?: ByteRange): Promise<BlobRead | null> {
    const s = await this.stat(repo, digest);
    if (!s) return null;
    if (range && (range.start > range.end || range.start >= s.size)) {
      throw new RegistryError('RANGE_INVALID', `range ${range.start}-${range.end} is outside 0-${s.size - 1}`);
    }
    const r = range ? { start: range.start, end: Math.min(range.end, s.size - 1) } : undefined;
    const handle = await open(this.layout.blobPath(digest), 'r');
    const span = { start: r?.start ?? 0, end: r?.end ?? s.size - 1 };
    // An empty blob: a stream over 0..-1 would read the whole file, so end is only given when there is one.
    const body = handle.createReadStream({
      start: span.start,
      ...(s.size > 0 ? { end: span.end } : {}),
      highWaterMark: 1 << 20,
    });
    return { ...s, body, file: { handle, ...span }, ...(r ? { range: r } : {}) };
  }

  async link(repo: string, digest: string): Promise<void> {
    const p = this.layout.linkPath(repo, digest);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, digest);
  }

  /** Moves a verified file (an upload's data) into place as the blob `digest` and links it into `repo`. */
  async commit(repo: string, digest: string, file: string): Promise<void> {
    const target = this.layout.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    const [alg, hex] = splitDigest(digest);
    await commitFile(file, target, alg, hex);
    await this.link(repo, digest);
  }

  /** Stores small content already in memory (manifests, bounded by maxManifestBytes) and links it. */
  async putBytes(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
    const target = this.layout.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    const tmp = `${target}.${randomUUID()}.tmp`;
    try {
      await writeFile(tmp, bytes);
      await this.commit(repo, digest, tmp);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async unlink(repo: string, digest: string): Promise<boolean> {
    const p = this.layout.linkPath(repo, digest);
    if (!(await exists(p))) return false;
    await rm(p); // the blob file stays until `aibomgen gc` finds nothing referencing it
    return true;
  }

  async mount(repo: string, from: string, digest: string): Promise<BlobStat | null> {
    const s = await this.stat(from, digest);
    if (!s) return null;
    await this.link(repo, digest);
    return s;
  }
}
