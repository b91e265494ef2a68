import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebStream } from 'node:stream/web';
import { MediaType, manifestMediaTypes } from '../../schema/media-types.ts';
import { readAll, verifiedStream, writeToFile } from './content.ts';
import { algorithmOf, digestFile, digestOf, fallbackTag } from './digest.ts';
import { errorFrom, OciError } from './errors.ts';
import { addToFallbackIndex } from './fallback.ts';
import type { FetchedManifest, OciDescriptor, OciTarget, ReadOptions } from './target.ts';

export { OciError } from './errors.ts';

export type { FetchedManifest, OciDescriptor, OciTarget, ReadOptions } from './target.ts';

/** A fetch-shaped function: global fetch by default; tests may pass an app's own handler. */
export type FetchLike = (req: Request) => Promise<Response>;

export interface OciClientOptions {
  fetch?: FetchLike;
  /**
   * Files up to this size go in one PUT; bigger ones in PATCH chunks of `chunkSize`. Node's global fetch
   * buffers a streamed request body whole, so bounded chunks keep a big push's memory bounded.
   */
  monolithicMax?: number;
  chunkSize?: number;
  /**
   * Sent with every request to the registry's own origin (e.g. the CLI's `authorization: Bearer <token>`),
   * never to another origin an upload `Location` may point at.
   */
  headers?: Record<string, string>;
}

const ACCEPT_MANIFESTS = manifestMediaTypes.join(', ');
const OCTET = 'application/octet-stream';

// Digest helpers and the fallback index are shared with the in-process target (server/registry/local-target.ts).
export { digestOf, fallbackTag } from './digest.ts';

/**
 * A small OCI distribution-spec v1.1 client: blobs (bytes or files, streamed both ways, HEAD before push,
 * monolithic POST+PUT or chunked PATCHes), manifests (OCI and Docker types), referrers (API, else the
 * fallback tag) and tags. Every download is checked against its digest. Failures throw OciError.
 */
export class OciClient implements OciTarget {
  private readonly fetchImpl: FetchLike;
  private readonly monolithicMax: number;
  private readonly chunkSize: number;
  private readonly headers: Record<string, string>;

  constructor(
    readonly baseUrl: string,
    opts: OciClientOptions = {},
  ) {
    this.fetchImpl = opts.fetch ?? ((r) => fetch(r));
    this.chunkSize = opts.chunkSize ?? 16 << 20;
    this.monolithicMax = opts.monolithicMax ?? this.chunkSize;
    this.headers = opts.headers ?? {};
  }

  private url(pathOrLocation: string): string {
    return new URL(pathOrLocation, this.baseUrl).toString();
  }

  private call(
    method: string,
    target: string,
    init: { body?: Uint8Array | ReadableStream<Uint8Array>; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const body = init.body as BodyInit | undefined;
    const url = this.url(target);
    const headers =
      new URL(url).origin === new URL(this.baseUrl).origin ? { ...this.headers, ...init.headers } : init.headers;
    // duplex: a streamed request body (Node's fetch and Request require it for a ReadableStream).
    const req = new Request(url, {
      method,
      headers,
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    return this.fetchImpl(req);
  }

  // ---- blobs ----

  /** Size of the blob in `repo`, or null when the registry does not have it there. */
  async blobSize(repo: string, digest: string): Promise<number | null> {
    const res = await this.call('HEAD', `/v2/${repo}/blobs/${digest}`);
    await res.body?.cancel();
    if (res.status === 404) return null;
    if (!res.ok) throw new OciError(`HEAD blob ${repo}@${digest} failed: ${res.status}`, res.status);
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** Pushes bytes already in memory (configs, small layers); skipped when the registry has them. */
  async pushBlob(
    repo: string,
    bytes: Uint8Array,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor> {
    const desc = descriptor(mediaType, digestOf(bytes), bytes.byteLength, annotations);
    if ((await this.blobSize(repo, desc.digest)) !== null) return desc;
    await this.putMonolithic(repo, desc.digest, bytes, bytes.byteLength);
    return desc;
  }

  /** Pushes a file without holding it in memory: hashed in one pass, then sent in one PUT or in chunks. */
  async pushBlobFile(
    repo: string,
    path: string,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor> {
    const { digest, size } = await digestFile(path);
    const desc = descriptor(mediaType, digest, size, annotations);
    if ((await this.blobSize(repo, digest)) !== null) return desc;
    await this.uploadFile(repo, path, digest, size);
    return desc;
  }

  /**
   * Uploads a file whose digest and size the caller already knows: no hashing pass, no HEAD first (the
   * registry bench times exactly the transfer). One streamed PUT up to `monolithicMax`, else PATCH chunks.
   */
  async uploadFile(repo: string, path: string, digest: string, size: number): Promise<void> {
    if (size <= this.monolithicMax) {
      const stream = Readable.toWeb(
        createReadStream(path, { highWaterMark: 1 << 20 }),
      ) as unknown as ReadableStream<Uint8Array>;
      await this.putMonolithic(repo, digest, stream, size);
    } else await this.putChunked(repo, digest, path, size);
  }

  private async startUpload(repo: string): Promise<string> {
    const res = await this.call('POST', `/v2/${repo}/blobs/uploads/`);
    const loc = res.headers.get('location');
    if (res.status !== 202 || !loc) throw await errorFrom(res, `blob upload start for ${repo}`);
    await res.body?.cancel();
    return loc;
  }

  private async putMonolithic(
    repo: string,
    digest: string,
    body: Uint8Array | ReadableStream<Uint8Array>,
    size: number,
  ): Promise<void> {
    const u = new URL(await this.startUpload(repo), this.baseUrl);
    u.searchParams.set('digest', digest);
    const res = await this.call('PUT', u.toString(), {
      body,
      headers: { 'content-type': OCTET, 'content-length': String(size) },
    });
    if (res.status !== 201) throw await errorFrom(res, `blob PUT ${digest} to ${repo}`);
    await res.body?.cancel();
  }

  private async putChunked(repo: string, digest: string, path: string, size: number): Promise<void> {
    let loc = await this.startUpload(repo);
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(this.chunkSize);
      for (let start = 0; start < size; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(this.chunkSize, size - start), start);
        if (bytesRead === 0) throw new OciError(`${path} shrank while it was pushed`, 0);
        const chunk = buf.subarray(0, bytesRead);
        const res = await this.call('PATCH', loc, {
          body: chunk,
          headers: {
            'content-type': OCTET,
            'content-length': String(bytesRead),
            'content-range': `${start}-${start + bytesRead - 1}`,
          },
        });
        const next = res.headers.get('location');
        if (res.status !== 202 || !next)
          throw await errorFrom(res, `blob PATCH ${start}-${start + bytesRead - 1} of ${digest} to ${repo}`);
        await res.body?.cancel();
        loc = next;
        start += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const u = new URL(loc, this.baseUrl);
    u.searchParams.set('digest', digest);
    const res = await this.call('PUT', u.toString(), { headers: { 'content-type': OCTET, 'content-length': '0' } });
    if (res.status !== 201) throw await errorFrom(res, `blob PUT ${digest} to ${repo}`);
    await res.body?.cancel();
  }

  /**
   * A blob as a stream that fails at its end if the content does not match `digest` (unless `verify` is
   * false: for a caller that checks digests itself and reports a mismatch in its own words).
   */
  async openBlob(repo: string, digest: string, opts: ReadOptions = {}): Promise<{ size: number; stream: Readable }> {
    const res = await this.call('GET', `/v2/${repo}/blobs/${digest}`);
    if (!res.ok || !res.body) throw await errorFrom(res, `blob GET ${repo}@${digest}`);
    const body = Readable.fromWeb(res.body as unknown as NodeWebStream<Uint8Array>, { highWaterMark: 1 << 20 });
    const size = Number(res.headers.get('content-length') ?? -1);
    return { size, stream: verifiedStream(body, digest, opts.verify !== false) };
  }

  /** A small blob's bytes (configs, signatures, evidence), verified. */
  async fetchBlob(repo: string, digest: string, opts: ReadOptions = {}): Promise<Uint8Array> {
    return readAll((await this.openBlob(repo, digest, opts)).stream);
  }

  /** Streams a blob to `path` (written beside it first, renamed only once the digest matched). */
  async pullBlobToFile(repo: string, digest: string, path: string): Promise<number> {
    return writeToFile((await this.openBlob(repo, digest)).stream, path);
  }

  // ---- manifests ----

  /** PUTs a manifest under `ref` (a digest or a tag); returns its descriptor. */
  async pushManifest(
    repo: string,
    ref: string,
    bytes: Uint8Array,
    mediaType: string = MediaType.ociManifest,
  ): Promise<OciDescriptor> {
    const res = await this.call('PUT', `/v2/${repo}/manifests/${ref}`, {
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    if (res.status !== 201) throw await errorFrom(res, `manifest PUT ${repo}:${ref}`);
    await res.body?.cancel();
    return descriptor(mediaType, digestOf(bytes), bytes.byteLength);
  }

  /** A manifest by tag or digest (checked against the digest unless `verify` is false), or undefined when unknown. */
  async getManifest(repo: string, ref: string, opts: ReadOptions = {}): Promise<FetchedManifest | undefined> {
    const res = await this.call('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: ACCEPT_MANIFESTS } });
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) throw await errorFrom(res, `manifest GET ${repo}:${ref}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const claimed = ref.includes(':') ? ref : res.headers.get('docker-content-digest');
    const alg = claimed ? algorithmOf(claimed) : 'sha256';
    const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
    if (opts.verify !== false && claimed && claimed !== digest)
      throw new OciError(`manifest ${repo}:${ref} does not match its digest ${claimed}`, res.status, 'DIGEST_MISMATCH');
    return { digest, mediaType: res.headers.get('content-type') ?? '', bytes };
  }

  async deleteManifest(repo: string, ref: string): Promise<void> {
    const res = await this.call('DELETE', `/v2/${repo}/manifests/${ref}`);
    if (res.status !== 202) throw await errorFrom(res, `manifest DELETE ${repo}:${ref}`);
    await res.body?.cancel();
  }

  // ---- discovery ----

  /** Every tag of `repo` (following `Link` pages); empty when the repository is unknown. */
  async tags(repo: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | null = `/v2/${repo}/tags/list`;
    while (next) {
      const res: Response = await this.call('GET', next);
      if (res.status === 404) {
        await res.body?.cancel();
        return out;
      }
      if (!res.ok) throw await errorFrom(res, `tags list ${repo}`);
      next = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '')?.[1] ?? null;
      out.push(...(((await res.json()) as { tags?: string[] | null }).tags ?? []));
    }
    return out;
  }

  /**
   * Referrers of `digest`, optionally of one artifact type: the referrers API where the registry has one,
   * else the `sha256-<hex>` fallback tag index that clients maintain (cosign, oras).
   */
  async referrers(repo: string, digest: string, artifactType?: string): Promise<OciDescriptor[]> {
    const q = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : '';
    const res = await this.call('GET', `/v2/${repo}/referrers/${digest}${q}`, {
      headers: { accept: MediaType.ociIndex },
    });
    let all: OciDescriptor[];
    if (res.ok) all = ((await res.json()) as { manifests?: OciDescriptor[] }).manifests ?? [];
    else {
      await res.body?.cancel();
      const idx = await this.getManifest(repo, fallbackTag(digest));
      all = idx
        ? ((JSON.parse(Buffer.from(idx.bytes).toString('utf8')) as { manifests?: OciDescriptor[] }).manifests ?? [])
        : [];
    }
    // A registry may ignore the filter (no OCI-Filters-Applied): filter here too.
    return artifactType ? all.filter((d) => d.artifactType === artifactType) : all;
  }

  /** Adds descriptors to the fallback tag index of `subjectDigest` (read-modify-write; single writer). */
  addToFallbackIndex(repo: string, subjectDigest: string, add: OciDescriptor[]): Promise<void> {
    return addToFallbackIndex(this, repo, subjectDigest, add);
  }
}

function descriptor(
  mediaType: string,
  digest: string,
  size: number,
  annotations?: Record<string, string>,
): OciDescriptor {
  return { mediaType, digest, size, ...(annotations ? { annotations } : {}) };
}
