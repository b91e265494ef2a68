import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { digestPattern, registeredDigestPattern, repositoryNamePattern, tagPattern } from '../../schema/reference.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import { type Caller, ownerName } from '../identity.ts';
import type { OciDescriptor, OciTarget } from '../oci/target.ts';
import { type AccessPolicy, authorize, type RegistryAction } from './access.ts';
import { crashPoint } from '../ops/crash-point.ts';
import { deleteCascade } from './cascade.ts';
import { RegistryError } from './errors.ts';
import { LocalTarget } from './local-target.ts';
import { manifestMediaType } from './safety.ts';
import type {
  BlobRead,
  BlobStat,
  ByteRange,
  ReadBlobOptions,
  RegistryStore,
  StoredManifest,
  UploadState,
} from './store/port.ts';
import { blobTooLarge, DRAIN_BYTES } from './store/size-cap.ts';

export interface RegistryServiceDeps {
  store: RegistryStore;
  db: Db;
  events: EventBus;
  log: Logger;
  policy: AccessPolicy;
  maxManifestBytes: number;
}

type Desc = Partial<OciDescriptor>;
/** The parts of an untrusted manifest the registry checks and indexes. */
interface Parsed {
  mediaType?: string;
  artifactType?: string;
  config?: Desc;
  layers?: Desc[];
  manifests?: Desc[];
  subject?: Desc;
  annotations?: Record<string, string>;
}

const isDigest = (r: string) => r.includes(':');

/** A digest the store may be asked about: sha256 or sha512 in the canonical hex form. */
export function checkDigest(d: string): string {
  if (!registeredDigestPattern.test(d)) throw new RegistryError('DIGEST_INVALID', `invalid digest ${d}`);
  return d;
}

export function checkRepo(name: string, what = ''): string {
  if (name.length > 255 || !repositoryNamePattern.test(name))
    throw new RegistryError('NAME_INVALID', `invalid repository name ${name}${what}`);
  return name;
}

/**
 * The registry in process: blobs, upload sessions, manifests, tags and the referrers index over the store
 * port. Every method takes the caller and passes `authorize` first; the /v2/ routes are a thin HTTP adapter
 * over it, and the platform's own code reaches it through `as(caller)` (an `OciTarget`), never over HTTP.
 * Manifest events (`manifest.put`, `manifest.delete`, `tag.delete`) go out once a change is durable.
 */
export class RegistryService {
  constructor(private readonly d: RegistryServiceDeps) {}

  get storeKind(): RegistryStore['kind'] {
    return this.d.store.kind;
  }

  /** The registry as an `OciTarget` acting as `caller` (e.g. PLATFORM for the publisher). */
  as(caller: Caller): OciTarget {
    return new LocalTarget(this, caller);
  }

  authorize(caller: Caller, repo: string, action: RegistryAction): void {
    authorize(this.d.policy, caller, repo, action);
  }

  // ---- blobs ----

  async statBlob(caller: Caller, repo: string, digest: string): Promise<BlobStat | null> {
    this.authorize(caller, checkRepo(repo), 'pull');
    return this.d.store.statBlob(repo, checkDigest(digest));
  }

  /** A blob's bytes (or a range of them); counted as bytes sent. */
  async readBlob(
    caller: Caller,
    repo: string,
    digest: string,
    range?: ByteRange,
    opts?: ReadBlobOptions,
  ): Promise<BlobRead | null> {
    this.authorize(caller, checkRepo(repo), 'pull');
    const r = await this.d.store.readBlob(repo, checkDigest(digest), range, opts);
    if (r && !r.redirect)
      this.d.events.emit('blob.bytes', { direction: 'out', bytes: r.range ? r.range.end - r.range.start + 1 : r.size });
    return r;
  }

  async deleteBlob(caller: Caller, repo: string, digest: string): Promise<boolean> {
    this.authorize(caller, checkRepo(repo), 'delete');
    return this.d.store.deleteBlob(repo, checkDigest(digest));
  }

  /** Links a blob of `from` into `repo` (reads `from`, writes `repo`); null when `from` lacks it. */
  async mountBlob(caller: Caller, repo: string, from: string, digest: string): Promise<BlobStat | null> {
    this.authorize(caller, checkRepo(repo), 'push');
    this.authorize(caller, checkRepo(from, ' in from='), 'pull');
    return this.d.store.mountBlob(repo, from, checkDigest(digest));
  }

  /**
   * A blob in one call (monolithic upload): stored only when the content matches `digest`. `declaredBytes`
   * (the request's Content-Length) far over the size cap is refused before anything is read.
   */
  async pushBlob(
    caller: Caller,
    repo: string,
    digest: string,
    body: Readable,
    declaredBytes?: number,
  ): Promise<BlobStat> {
    this.authorize(caller, checkRepo(repo), 'push');
    checkDigest(digest);
    await this.refuseDeclared(repo, undefined, declaredBytes);
    const u = await this.d.store.createUpload(repo, ownerName(caller));
    return this.finishUpload(repo, u.id, digest, body);
  }

  // ---- upload sessions ----

  /** Opens an upload session, counted against the caller's cap (TOOMANYREQUESTS above it). */
  async startUpload(caller: Caller, repo: string): Promise<UploadState> {
    this.authorize(caller, checkRepo(repo), 'push');
    return this.d.store.createUpload(repo, ownerName(caller));
  }

  /**
   * A request whose declared length would take the blob past the cap by more than the store drains is refused
   * before a byte is read, its session removed, and its connection closed (reading it to the end to answer
   * politely would cost what the cap saves). Nearer the cap the store counts the bytes as they come (413).
   */
  private async refuseDeclared(repo: string, id: string | undefined, declared: number | undefined): Promise<void> {
    if (declared === undefined || !Number.isFinite(declared) || declared <= DRAIN_BYTES) return;
    const max = this.d.store.maxBlobBytes;
    const offset = id ? ((await this.d.store.getUpload(repo, id))?.offset ?? 0) : 0;
    if (offset + declared <= max + DRAIN_BYTES) return;
    if (id) await this.d.store.cancelUpload(repo, id).catch(() => false);
    const e = blobTooLarge(max);
    e.headers.Connection = 'close';
    throw e;
  }

  async uploadStatus(caller: Caller, repo: string, id: string): Promise<UploadState> {
    this.authorize(caller, checkRepo(repo), 'push');
    const u = await this.d.store.getUpload(repo, id);
    if (!u) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
    return u;
  }

  /** Appends a chunk; `start`, when given, must be the session's offset (else RANGE_INVALID, nothing appended). */
  async appendUpload(
    caller: Caller,
    repo: string,
    id: string,
    body: Readable,
    start?: number,
    declaredBytes?: number,
  ): Promise<UploadState> {
    this.authorize(caller, checkRepo(repo), 'push');
    await this.refuseDeclared(repo, id, declaredBytes);
    return this.d.store.appendUpload(repo, id, body, start);
  }

  /** Ends a session: the optional last chunk (at `start`, when given), then the digest check. */
  async completeUpload(
    caller: Caller,
    repo: string,
    id: string,
    digest: string,
    body?: Readable,
    start?: number,
    declaredBytes?: number,
  ): Promise<BlobStat> {
    this.authorize(caller, checkRepo(repo), 'push');
    checkDigest(digest);
    await this.refuseDeclared(repo, id, declaredBytes);
    if (start !== undefined) {
      const u = await this.d.store.getUpload(repo, id);
      if (!u) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
      if (start !== u.offset)
        throw new RegistryError('RANGE_INVALID', `chunk at ${start} does not start at ${u.offset}`);
    }
    return this.finishUpload(repo, id, digest, body);
  }

  async cancelUpload(caller: Caller, repo: string, id: string): Promise<void> {
    this.authorize(caller, checkRepo(repo), 'delete');
    if (!(await this.d.store.cancelUpload(repo, id)))
      throw new RegistryError('BLOB_UPLOAD_UNKNOWN', `upload ${id} unknown`);
  }

  private async finishUpload(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
    const st = await this.d.store.completeUpload(repo, id, digest, body);
    this.d.events.emit('blob.bytes', { direction: 'in', bytes: st.size });
    return st;
  }

  // ---- manifests ----

  /**
   * Stores a manifest under `ref` (a tag or its digest) once every blob and manifest it names is there, indexes
   * it (media type, artifact type, subject: the referrers API) and announces it. `contentType` is used when the
   * manifest names no mediaType of its own.
   */
  async putManifest(
    caller: Caller,
    repo: string,
    ref: string,
    bytes: Uint8Array,
    contentType?: string,
  ): Promise<{ digest: string; mediaType: string; subject?: string }> {
    this.authorize(caller, checkRepo(repo), 'push');
    if (!isDigest(ref) && !tagPattern.test(ref)) throw new RegistryError('MANIFEST_INVALID', `invalid tag ${ref}`);
    if (bytes.length > this.d.maxManifestBytes)
      throw new RegistryError('SIZE_INVALID', `manifest larger than ${this.d.maxManifestBytes} bytes`);
    let m: Parsed;
    try {
      m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Parsed;
    } catch {
      throw new RegistryError('MANIFEST_INVALID', 'manifest is not valid JSON');
    }
    if (!m || typeof m !== 'object' || Array.isArray(m))
      throw new RegistryError('MANIFEST_INVALID', 'manifest is not a JSON object');
    const mediaType = manifestMediaType(m.mediaType, contentType);
    // Shapes the checks below walk: anything else is a malformed manifest (400), never an exception (500).
    const isObject = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && !Array.isArray(v));
    const isList = (v: unknown) =>
      v === undefined || (Array.isArray(v) && v.every((d) => typeof d === 'object' && d !== null));
    if (
      !isObject(m.config) ||
      !isObject(m.subject) ||
      !isList(m.layers) ||
      !isList(m.manifests) ||
      !isObject(m.annotations)
    )
      throw new RegistryError(
        'MANIFEST_INVALID',
        'manifest fields config, subject and annotations must be objects, layers and manifests lists of descriptors',
      );
    const alg = isDigest(ref) && ref.startsWith('sha512:') ? 'sha512' : 'sha256';
    const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
    if (isDigest(ref) && ref !== digest)
      throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest} does not match ${ref}`);
    const { store, db } = this.d;
    for (const d of [m.config, ...(m.layers ?? [])]) {
      // Non-distributable (foreign) layers live elsewhere by design: the registry need not hold them.
      if (!d || /nondistributable|foreign/.test(d.mediaType ?? '')) continue;
      if (!d.digest || !digestPattern.test(d.digest) || !(await store.statBlob(repo, d.digest)))
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob ${d.digest} unknown to ${repo}`);
    }
    for (const d of m.manifests ?? []) {
      if (!d.digest || !(await store.getManifest(repo, d.digest)))
        throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest ${d.digest} unknown to ${repo}`);
    }
    // Index row first: the embedded store reads the media type from it.
    const row = {
      repo,
      digest,
      media_type: mediaType,
      artifact_type: m.artifactType ?? m.config?.mediaType ?? null,
      subject_digest: m.subject?.digest ?? null,
      size: bytes.length,
      annotations_json: m.annotations ? JSON.stringify(m.annotations) : null,
      created_at: new Date().toISOString(),
    };
    const prior = await db
      .selectFrom('registry_manifests')
      .selectAll()
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .executeTakeFirst();
    // One statement (no delete-then-insert window for a crash), and a re-PUT keeps the first date: the order of
    // referrers cannot be changed by pushing one again.
    const { created_at: _first, repo: _r, digest: _d, ...columns } = row;
    await db
      .insertInto('registry_manifests')
      .values(row)
      .onConflict((oc) => oc.columns(['repo', 'digest']).doUpdateSet(columns))
      .execute();
    crashPoint('registry:index-row');
    try {
      await store.putManifest(repo, { digest, mediaType, bytes }, isDigest(ref) ? undefined : ref);
    } catch (e) {
      // The store refused it (an upstream registry validates too): the index must not list what is not stored.
      const q = db.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', digest);
      if (prior)
        await db
          .updateTable('registry_manifests')
          .set(prior)
          .where('repo', '=', repo)
          .where('digest', '=', digest)
          .execute();
      else await q.execute();
      throw e;
    }
    crashPoint('registry:manifest-stored');
    this.d.events.emit('manifest.put', { repo, digest, mediaType, bytes, ...(isDigest(ref) ? {} : { tag: ref }) });
    return { digest, mediaType, ...(m.subject?.digest ? { subject: m.subject.digest } : {}) };
  }

  /** A manifest by tag or digest, byte-exact, or null. */
  async getManifest(caller: Caller, repo: string, ref: string): Promise<StoredManifest | null> {
    this.authorize(caller, checkRepo(repo), 'pull');
    return this.d.store.getManifest(repo, ref);
  }

  /**
   * Removes a tag (the manifest stays) or a manifest by digest (with its tags, and everything that describes
   * it: see `deleteVersion`). False when unknown.
   */
  async deleteManifest(caller: Caller, repo: string, ref: string): Promise<boolean> {
    this.authorize(caller, checkRepo(repo), 'delete');
    if (!isDigest(ref)) {
      if (!(await this.d.store.deleteTag(repo, ref))) return false;
      crashPoint('registry:tag-deleted');
      this.d.events.emit('tag.delete', { repo, tag: ref });
      return true;
    }
    return (await deleteCascade(this.d, repo, checkDigest(ref))).includes(ref);
  }

  /**
   * Deletes a version (by tag or digest) with everything that describes it: its referrers, theirs in turn
   * (signatures of attestations), the `sha256-<hex>` fallback index and cosign `.sig`/`.att` tags of each, and
   * their index rows; a `manifest.delete` goes out for each. Blobs stay until `aibomgen gc`. Resolves to the
   * digests deleted (the version's first: cascade.ts), or null when `ref` names nothing.
   */
  async deleteVersion(caller: Caller, repo: string, ref: string): Promise<string[] | null> {
    this.authorize(caller, checkRepo(repo), 'delete');
    const digest = isDigest(ref) ? checkDigest(ref) : (await this.d.store.getManifest(repo, ref))?.digest;
    if (!digest) return null;
    const deleted = await deleteCascade(this.d, repo, digest);
    return deleted.includes(digest) ? deleted : null;
  }

  /** Every tag of `repo` in lexical order; null when the repository is unknown. */
  async listTags(caller: Caller, repo: string): Promise<string[] | null> {
    this.authorize(caller, checkRepo(repo), 'pull');
    return this.d.store.listTags(repo);
  }

  /** The repositories `caller` may pull (the catalog names no internal or otherwise closed repository). */
  async listRepositories(caller: Caller): Promise<string[]> {
    this.authorize(caller, '', 'pull');
    return (await this.d.store.listRepositories()).filter((repo) => {
      try {
        this.authorize(caller, repo, 'pull');
        return true;
      } catch {
        return false;
      }
    });
  }

  /** Every manifest stored, oldest first (what the lineage index rebuilds itself from). */
  async listManifests(caller: Caller): Promise<{ repo: string; digest: string }[]> {
    this.authorize(caller, '', 'pull');
    return this.d.db.selectFrom('registry_manifests').select(['repo', 'digest']).orderBy('created_at').execute();
  }

  /** The manifests whose subject is `digest`, optionally of one artifact type, oldest first. */
  async referrers(caller: Caller, repo: string, digest: string, artifactType?: string): Promise<OciDescriptor[]> {
    this.authorize(caller, checkRepo(repo), 'pull');
    if (!digestPattern.test(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest ${digest}`);
    let q = this.d.db
      .selectFrom('registry_manifests')
      .selectAll()
      .where('repo', '=', repo)
      .where('subject_digest', '=', digest);
    if (artifactType) q = q.where('artifact_type', '=', artifactType);
    const rows = await q.orderBy('created_at').execute();
    return rows.map((r) => ({
      mediaType: r.media_type,
      digest: r.digest,
      size: Number(r.size),
      ...(r.artifact_type ? { artifactType: r.artifact_type } : {}),
      ...(r.annotations_json ? { annotations: JSON.parse(r.annotations_json) as Record<string, string> } : {}),
    }));
  }
}
