import { createHash } from 'node:crypto';
import { MediaType } from '../../schema/media-types.ts';

/**
 * Minimal OCI distribution push client for the publisher (H2's server/oci/client.ts had not landed):
 * blobs by POST+PUT, manifests by digest or tag, and the referrers fallback tag `sha256-<hex>` that
 * registries without a referrers API need (cosign and oras read it).
 */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class OciPushError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

export function digestOf(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export class OciPusher {
  constructor(private readonly baseUrl: string, private readonly fetchImpl: (req: Request) => Promise<Response> = (r) => fetch(r)) {}

  private async call(method: string, path: string, init: { body?: Uint8Array; headers?: Record<string, string> } = {}): Promise<Response> {
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    return this.fetchImpl(new Request(url, { method, headers: init.headers, body: init.body as unknown as BodyInit | undefined }));
  }

  async pushBlob(repo: string, bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
    const digest = digestOf(bytes);
    const desc: Descriptor = { mediaType, digest, size: bytes.byteLength, ...(annotations ? { annotations } : {}) };
    const head = await this.call('HEAD', `/v2/${repo}/blobs/${digest}`);
    if (head.ok) return desc;
    const start = await this.call('POST', `/v2/${repo}/blobs/uploads/`);
    await start.arrayBuffer();
    const loc = start.headers.get('location');
    if (start.status !== 202 || !loc) throw new OciPushError(`blob upload start for ${repo} failed: ${start.status}`, start.status);
    const u = new URL(loc, this.baseUrl);
    u.searchParams.set('digest', digest);
    const put = await this.call('PUT', u.toString(), { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
    const text = await put.text();
    if (put.status !== 201) throw new OciPushError(`blob PUT ${digest} to ${repo} failed: ${put.status} ${text}`, put.status);
    return desc;
  }

  /** PUTs a manifest under `ref` (a digest or a tag); returns its descriptor. */
  async pushManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string = MediaType.ociManifest): Promise<Descriptor> {
    const res = await this.call('PUT', `/v2/${repo}/manifests/${ref}`, { body: bytes, headers: { 'content-type': mediaType } });
    const text = await res.text();
    if (res.status !== 201) throw new OciPushError(`manifest PUT ${repo}:${ref} failed: ${res.status} ${text}`, res.status);
    return { mediaType, digest: digestOf(bytes), size: bytes.byteLength };
  }

  async getManifest(repo: string, ref: string): Promise<{ bytes: Uint8Array; mediaType: string } | undefined> {
    const res = await this.call('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: [MediaType.ociManifest, MediaType.ociIndex].join(', ') } });
    if (res.status === 404) {
      await res.arrayBuffer();
      return undefined;
    }
    if (!res.ok) throw new OciPushError(`manifest GET ${repo}:${ref} failed: ${res.status}`, res.status);
    return { bytes: new Uint8Array(await res.arrayBuffer()), mediaType: res.headers.get('content-type') ?? '' };
  }

  async fetchBlob(repo: string, digest: string): Promise<Uint8Array> {
    const res = await this.call('GET', `/v2/${repo}/blobs/${digest}`);
    if (!res.ok) throw new OciPushError(`blob GET ${repo}@${digest} failed: ${res.status}`, res.status);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Referrers of `digest`: the referrers API when the registry has one, else the `sha256-<hex>` tag index. */
  async referrers(repo: string, digest: string): Promise<Descriptor[]> {
    const res = await this.call('GET', `/v2/${repo}/referrers/${digest}`, { headers: { accept: MediaType.ociIndex } });
    if (res.ok) return ((await res.json()) as { manifests?: Descriptor[] }).manifests ?? [];
    await res.arrayBuffer();
    const idx = await this.getManifest(repo, digest.replace(':', '-'));
    return idx ? ((JSON.parse(Buffer.from(idx.bytes).toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? []) : [];
  }

  /** Adds referrer descriptors to the fallback tag index (read-modify-write; the publisher is the only writer of a new model). */
  async addToFallbackIndex(repo: string, subjectDigest: string, add: Descriptor[]): Promise<void> {
    const tag = subjectDigest.replace(':', '-');
    const cur = await this.getManifest(repo, tag);
    const manifests: Descriptor[] = cur ? ((JSON.parse(Buffer.from(cur.bytes).toString('utf8')) as { manifests?: Descriptor[] }).manifests ?? []) : [];
    for (const d of add) if (!manifests.some((m) => m.digest === d.digest)) manifests.push(d);
    const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
    await this.pushManifest(repo, tag, Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
  }
}
