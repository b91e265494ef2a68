import { createHash, type Hash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RegistryError } from '../errors.ts';
import type { BlobContent } from './blob-content.ts';
import { type Alg, hashFile, splitDigest } from './layout.ts';
import type { BlobStat, UploadState } from './port.ts';
import { type SessionLimits, SessionTable, type TrackedSession } from './session-table.ts';
import { blobTooLarge, capBody } from './size-cap.ts';

interface Session extends TrackedSession {
  /**
   * The running hash of the data so far. Node's Hash cannot be serialized, so it lives only here; a session
   * taken up after a restart has none and completion re-hashes the file. One algorithm is run: the one a
   * monolithic upload's digest names, else sha256 (a chunked upload completed as sha512 re-reads its file).
   */
  hash?: { alg: Alg; hash: Hash; offset: number };
}

/**
 * Upload sessions of the embedded store: `uploads/<id>/{data,repo,owner}` on disk, tracked in a SessionTable
 * (per-identity cap, one request at a time, expiry). On start, sessions on disk untouched for the TTL are
 * purged; the others are taken up when a client comes back to them, and expire like any other.
 */
export class EmbeddedUploads {
  private readonly table: SessionTable<Session>;

  constructor(
    private readonly blobs: BlobContent,
    private readonly limits: SessionLimits & { maxBlobBytes: number },
  ) {
    this.table = new SessionTable<Session>(
      limits,
      (s) => rm(this.dir(s.id), { recursive: true, force: true }),
      async (s) => {
        // Appended to by another process sharing the directory since we last looked: still in use.
        const m = await this.lastWrite(s.id);
        if (m > s.lastUsed) s.lastUsed = m;
        return s.lastUsed >= Date.now() - limits.ttlMs;
      },
    );
  }

  private dir(id: string): string {
    return this.blobs.layout.uploadDir(id);
  }

  private async lastWrite(id: string): Promise<number> {
    const d = this.dir(id);
    const st = await stat(join(d, 'data')).catch(() => stat(d));
    return st.mtimeMs;
  }

  /** Sessions held in memory (what the sweep and the per-identity cap count). */
  get size(): number {
    return this.table.size;
  }

  /**
   * At start: purges the sessions on disk untouched for the TTL (a crash or a stop left them) and takes in the
   * others, so that they count against their owner's cap and expire like any other.
   */
  async purgeExpired(): Promise<number> {
    const root = this.blobs.layout.uploadsDir;
    await mkdir(root, { recursive: true });
    const cutoff = Date.now() - this.limits.ttlMs;
    let n = 0;
    for (const id of await readdir(root)) {
      const repo = await this.repoOf(id);
      if (repo && this.table.get(repo, id)) continue;
      const last = await this.lastWrite(id).catch(() => 0);
      if (repo && last >= cutoff) {
        await this.session(repo, id);
        continue;
      }
      await rm(join(root, id), { recursive: true, force: true });
      n++;
    }
    return n;
  }

  sweep(): Promise<number> {
    return this.table.sweep();
  }

  close(): void {
    this.table.close();
  }

  private async repoOf(id: string): Promise<string | undefined> {
    try {
      return await readFile(join(this.dir(id), 'repo'), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** The session, from memory or (after a restart) from disk; undefined when unknown to `repo`. */
  private async session(repo: string, id: string): Promise<Session | undefined> {
    const known = this.table.get(repo, id);
    if (known) return known;
    if ((await this.repoOf(id)) !== repo) return undefined; // unknown, another repository's, or a malformed id
    const owner = await readFile(join(this.dir(id), 'owner'), 'utf8').catch(() => 'anonymous');
    const lastUsed = await this.lastWrite(id).catch(() => Date.now());
    return this.table.adopt({ id, repo, owner, lastUsed, busy: false });
  }

  private async required(repo: string, id: string, body?: Readable): Promise<Session> {
    const s = await this.session(repo, id);
    if (!s) {
      body?.resume();
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
    }
    return s;
  }

  async create(repo: string, owner: string): Promise<UploadState> {
    const s = await this.table.open(owner, async () => {
      const id = randomUUID();
      const dir = this.dir(id);
      await mkdir(dir, { recursive: true });
      await Promise.all([
        writeFile(join(dir, 'repo'), repo),
        writeFile(join(dir, 'owner'), owner),
        writeFile(join(dir, 'data'), ''),
      ]);
      return {
        id,
        repo,
        owner,
        lastUsed: Date.now(),
        busy: false,
        hash: { alg: 'sha256', hash: createHash('sha256'), offset: 0 },
      };
    });
    return { id: s.id, repo, offset: 0 };
  }

  async get(repo: string, id: string): Promise<UploadState | null> {
    const s = await this.session(repo, id);
    if (!s) return null;
    try {
      return { id, repo, offset: (await stat(join(this.dir(id), 'data'))).size };
    } catch {
      return null;
    }
  }

  /** Appends `body` (one request at a time per session). */
  async append(repo: string, id: string, body: Readable, start?: number): Promise<UploadState> {
    const s = await this.required(repo, id, body);
    return this.table.exclusive(s, body, () => this.appendHeld(s, body, start, 'sha256'));
  }

  /**
   * Appends `body` to the data, hashed on the way with `alg` when nothing was stored before it, and at most
   * up to the size cap: past it the session is removed and the request answered 413.
   */
  private async appendHeld(s: Session, body: Readable, start: number | undefined, alg: Alg): Promise<UploadState> {
    const offset = (await this.get(s.repo, s.id))?.offset;
    if (offset === undefined) {
      body.resume();
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${s.id}`);
    }
    if (start !== undefined && start !== offset) {
      body.resume();
      throw new RegistryError('RANGE_INVALID', `chunk starts at ${start}, expected ${offset}`);
    }
    let state = s.hash;
    if (state && state.offset !== offset)
      state = undefined; // stale: re-hash at completion
    else if (state && state.offset === 0 && state.alg !== alg) state = { alg, hash: createHash(alg), offset: 0 };
    s.hash = state;
    let added = 0;
    const tee = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        added += chunk.length;
        state?.hash.update(chunk);
        cb(null, chunk);
      },
    });
    const capped = capBody(body, this.limits.maxBlobBytes - offset);
    await pipeline(capped.stream, tee, createWriteStream(join(this.dir(s.id), 'data'), { flags: 'a' }));
    if (capped.over()) {
      await this.remove(s);
      throw blobTooLarge(this.limits.maxBlobBytes);
    }
    if (state) state.offset += added;
    return { id: s.id, repo: s.repo, offset: offset + added };
  }

  /** Ends a session: the optional last chunk, the digest check, then the blob is committed (or nothing kept). */
  async complete(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
    const s = await this.required(repo, id, body);
    return this.table.exclusive(s, body, async () => {
      const [alg] = splitDigest(digest);
      const cur = body ? await this.appendHeld(s, body, undefined, alg) : await this.get(repo, id);
      if (!cur) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `unknown upload ${id}`);
      const dataPath = join(this.dir(id), 'data');
      const state = s.hash;
      const hex =
        state && state.offset === cur.offset && state.alg === alg
          ? state.hash.digest('hex')
          : await hashFile(dataPath, alg);
      const actual = `${alg}:${hex}`;
      if (actual !== digest) {
        await this.remove(s);
        throw new RegistryError('DIGEST_INVALID', `content digest ${actual} does not match ${digest}`);
      }
      await this.blobs.commit(repo, digest, dataPath);
      await this.remove(s);
      return { digest, size: cur.offset };
    });
  }

  async cancel(repo: string, id: string): Promise<boolean> {
    const s = await this.session(repo, id);
    if (!s) return false;
    await this.table.exclusive(s, undefined, () => this.remove(s));
    return true;
  }

  private async remove(s: Session): Promise<void> {
    this.table.drop(s.id);
    s.hash = undefined;
    await rm(this.dir(s.id), { recursive: true, force: true });
  }
}
