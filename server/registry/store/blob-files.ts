import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { RegistryError } from '../errors.ts';
import type { BlobRead, BlobStat, ByteRange, UploadState } from './port.ts';

/**
 * Content-addressed blob files of the embedded store:
 *   blobs   <root>/blobs/<alg>/<2>/<hex>      (visible only after the digest matched: atomic rename)
 *   uploads <root>/uploads/<id>/{data,repo}
 *   links   <root>/repos/<repo>/_links/<alg>/<hex>  (a repository "has" a blob when its link exists)
 *
 * Hash state: Node's Hash cannot be serialized, so the running hash of each upload is kept in memory
 * keyed by upload id; after a restart (no state in memory) completion re-hashes the data file. One
 * algorithm is run: the one a monolithic upload's digest names, else sha256 (a chunked upload completed
 * under a sha512 digest, which no client we know of sends, re-reads its file).
 */
export class BlobFiles {
  private readonly hashes = new Map<string, { alg: Alg; hash: Hash; offset: number }>();
  constructor(private readonly root: string) {}

  private blobPath(digest: string): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.root, 'blobs', alg, hex.slice(0, 2), hex);
  }
  private linkPath(repo: string, digest: string): string {
    const [alg, hex] = splitDigest(digest);
    return join(this.root, 'repos', repo, '_links', alg, hex);
  }
  private uploadDir(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
    return join(this.root, 'uploads', id);
  }

  async stat(repo: string, digest: string): Promise<BlobStat | null> {
    if (!(await exists(this.linkPath(repo, digest)))) return null;
    try {
      return { digest, size: (await stat(this.blobPath(digest))).size };
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
    const handle = await open(this.blobPath(digest), 'r');
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
    const p = this.linkPath(repo, digest);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, digest);
  }

  /** Stores small content already in memory (manifests, bounded by maxManifestBytes) and links it. */
  async putBytes(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
    const target = this.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    const tmp = `${target}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, target);
    await this.link(repo, digest);
  }

  async unlink(repo: string, digest: string): Promise<boolean> {
    const p = this.linkPath(repo, digest);
    if (!(await exists(p))) return false;
    await rm(p); // TODO(gc): unreferenced blob files stay on disk until a garbage collector exists.
    return true;
  }

  async mount(repo: string, from: string, digest: string): Promise<BlobStat | null> {
    const s = await this.stat(from, digest);
    if (!s) return null;
    await this.link(repo, digest);
    return s;
  }

  async createUpload(repo: string): Promise<UploadState> {
    const id = randomUUID();
    const dir = this.uploadDir(id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'repo'), repo);
    await writeFile(join(dir, 'data'), '');
    this.hashes.set(id, { alg: 'sha256', hash: createHash('sha256'), offset: 0 });
    return { id, repo, offset: 0 };
  }

  async getUpload(repo: string, id: string): Promise<UploadState | null> {
    let dir: string;
    try {
      dir = this.uploadDir(id);
    } catch {
      return null;
    }
    try {
      const owner = await import('node:fs/promises').then((f) => f.readFile(join(dir, 'repo'), 'utf8'));
      if (owner !== repo) return null;
      return { id, repo, offset: (await stat(join(dir, 'data'))).size };
    } catch {
      return null;
    }
  }

  /** Appends `body` to the upload's data, hashed on the way with `alg` when nothing was stored before it. */
  async append(repo: string, id: string, body: Readable, start?: number, alg: Alg = 'sha256'): Promise<UploadState> {
    const cur = await this.getUpload(repo, id);
    if (!cur) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
    if (start !== undefined && start !== cur.offset) {
      body.resume();
      throw new RegistryError('RANGE_INVALID', `chunk starts at ${start}, expected ${cur.offset}`);
    }
    let state = this.hashes.get(id);
    if (state && state.offset !== cur.offset)
      state = undefined; // stale: re-hash at completion
    else if (state && state.offset === 0 && state.alg !== alg) state = { alg, hash: createHash(alg), offset: 0 };
    if (state) this.hashes.set(id, state);
    else this.hashes.delete(id);
    const live = state;
    let added = 0;
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        added += chunk.length;
        live?.hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(body, tee, createWriteStream(join(this.uploadDir(id), 'data'), { flags: 'a' }));
    if (live) live.offset += added;
    return { id, repo, offset: cur.offset + added };
  }

  async complete(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
    const [alg] = splitDigest(digest);
    const cur = body ? await this.append(repo, id, body, undefined, alg) : await this.getUpload(repo, id);
    if (!cur) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
    const dataPath = join(this.uploadDir(id), 'data');
    const state = this.hashes.get(id);
    const hex =
      state && state.offset === cur.offset && state.alg === alg
        ? state.hash.digest('hex')
        : await hashFile(dataPath, alg);
    const actual = `${alg}:${hex}`;
    if (actual !== digest) {
      await this.cancel(repo, id);
      throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${digest}`);
    }
    const target = this.blobPath(digest);
    await mkdir(join(target, '..'), { recursive: true });
    await rename(dataPath, target);
    await this.link(repo, digest);
    this.hashes.delete(id);
    await rm(this.uploadDir(id), { recursive: true, force: true });
    return { digest, size: cur.offset };
  }

  async cancel(repo: string, id: string): Promise<boolean> {
    const cur = await this.getUpload(repo, id);
    this.hashes.delete(id);
    if (!cur) return false;
    await rm(this.uploadDir(id), { recursive: true, force: true });
    return true;
  }
}

type Alg = 'sha256' | 'sha512';

function splitDigest(digest: string): [Alg, string] {
  const m = /^(sha256):([a-f0-9]{64})$|^(sha512):([a-f0-9]{128})$/.exec(digest);
  if (!m) throw new RegistryError('DIGEST_INVALID', `unsupported or malformed digest ${digest}`);
  return m[1] ? ['sha256', m[2]!] : ['sha512', m[4]!];
}

async function hashFile(path: string, alg: Alg): Promise<string> {
  const h = createHash(alg);
  await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), h);
  return h.digest('hex');
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
