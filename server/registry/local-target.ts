import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { MediaType } from '../../schema/media-types.ts';
import type { Caller } from '../identity.ts';
import { readAll, verifiedStream, writeToFile } from '../oci/content.ts';
import { algorithmOf, digestFile, digestOf } from '../oci/digest.ts';
import { addToFallbackIndex } from '../oci/fallback.ts';
import type { FetchedManifest, OciDescriptor, OciTarget, ReadOptions } from '../oci/target.ts';
import { RegistryError } from './errors.ts';
import type { BlobRead, BlobStat, StoredManifest } from './store/port.ts';

/** What the target needs of the registry service (structural, so the service can build targets without a cycle). */
export interface RegistryOps {
  statBlob(caller: Caller, repo: string, digest: string): Promise<BlobStat | null>;
  readBlob(caller: Caller, repo: string, digest: string): Promise<BlobRead | null>;
  pushBlob(caller: Caller, repo: string, digest: string, body: Readable): Promise<BlobStat>;
  putManifest(
    caller: Caller,
    repo: string,
    ref: string,
    bytes: Uint8Array,
    contentType?: string,
  ): Promise<{ digest: string }>;
  getManifest(caller: Caller, repo: string, ref: string): Promise<StoredManifest | null>;
  deleteManifest(caller: Caller, repo: string, ref: string): Promise<boolean>;
  listTags(caller: Caller, repo: string): Promise<string[] | null>;
  referrers(caller: Caller, repo: string, digest: string, artifactType?: string): Promise<OciDescriptor[]>;
}

const descriptor = (
  mediaType: string,
  digest: string,
  size: number,
  annotations?: Record<string, string>,
): OciDescriptor => ({
  mediaType,
  digest,
  size,
  ...(annotations ? { annotations } : {}),
});

/**
 * The in-process registry as an `OciTarget`, acting as one caller: the same calls the HTTP client makes, with
 * no HTTP in between and the same access check as /v2/ (every method goes through `RegistryService`).
 */
export class LocalTarget implements OciTarget {
  constructor(
    private readonly registry: RegistryOps,
    readonly caller: Caller,
  ) {}

  async blobSize(repo: string, digest: string): Promise<number | null> {
    return (await this.registry.statBlob(this.caller, repo, digest))?.size ?? null;
  }

  async pushBlob(
    repo: string,
    bytes: Uint8Array,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor> {
    const desc = descriptor(mediaType, digestOf(bytes), bytes.byteLength, annotations);
    if ((await this.blobSize(repo, desc.digest)) === null)
      await this.registry.pushBlob(this.caller, repo, desc.digest, Readable.from([Buffer.from(bytes)]));
    return desc;
  }

  async pushBlobFile(
    repo: string,
    path: string,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor> {
    const { digest, size } = await digestFile(path);
    const desc = descriptor(mediaType, digest, size, annotations);
    if ((await this.blobSize(repo, digest)) === null)
      await this.registry.pushBlob(this.caller, repo, digest, createReadStream(path, { highWaterMark: 1 << 20 }));
    return desc;
  }

  async openBlob(repo: string, digest: string, opts: ReadOptions = {}): Promise<{ size: number; stream: Readable }> {
    const r = await this.registry.readBlob(this.caller, repo, digest);
    if (!r) throw new RegistryError('BLOB_UNKNOWN', `blob ${digest} unknown to ${repo}`);
    return { size: r.size, stream: verifiedStream(r.body, digest, opts.verify !== false) };
  }

  async fetchBlob(repo: string, digest: string, opts: ReadOptions = {}): Promise<Uint8Array> {
    return readAll((await this.openBlob(repo, digest, opts)).stream);
  }

  async pullBlobToFile(repo: string, digest: string, path: string): Promise<number> {
    return writeToFile((await this.openBlob(repo, digest)).stream, path);
  }

  async pushManifest(
    repo: string,
    ref: string,
    bytes: Uint8Array,
    mediaType: string = MediaType.ociManifest,
  ): Promise<OciDescriptor> {
    const r = await this.registry.putManifest(this.caller, repo, ref, bytes, mediaType);
    return descriptor(mediaType, r.digest, bytes.byteLength);
  }

  async getManifest(repo: string, ref: string, opts: ReadOptions = {}): Promise<FetchedManifest | undefined> {
    const m = await this.registry.getManifest(this.caller, repo, ref);
    if (!m) return undefined;
    if (opts.verify !== false) {
      const alg = algorithmOf(m.digest);
      const actual = `${alg}:${createHash(alg).update(m.bytes).digest('hex')}`;
      if (actual !== m.digest)
        throw new RegistryError('MANIFEST_INVALID', `manifest ${repo}:${ref} does not match its digest ${m.digest}`);
    }
    return { digest: m.digest, mediaType: m.mediaType, bytes: m.bytes };
  }

  async deleteManifest(repo: string, ref: string): Promise<void> {
    if (!(await this.registry.deleteManifest(this.caller, repo, ref)))
      throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} unknown to ${repo}`);
  }

  async tags(repo: string): Promise<string[]> {
    return (await this.registry.listTags(this.caller, repo)) ?? [];
  }

  referrers(repo: string, digest: string, artifactType?: string): Promise<OciDescriptor[]> {
    return this.registry.referrers(this.caller, repo, digest, artifactType);
  }

  addToFallbackIndex(repo: string, subjectDigest: string, add: OciDescriptor[]): Promise<void> {
    return addToFallbackIndex(this, repo, subjectDigest, add);
  }
}
