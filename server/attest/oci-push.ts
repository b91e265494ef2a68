import { MediaType } from '../../schema/media-types.ts';
import { digestOf, OciClient, OciError, type FetchLike, type OciDescriptor } from '../oci/client.ts';

/**
 * The publisher's and verifier's view of the registry: a thin layer over server/oci/client.ts that keeps
 * the API they were written against. Reads are not digest-checked here on purpose: the verifier re-hashes
 * every manifest and blob itself and reports a mismatch as a named check.
 */
export type Descriptor = OciDescriptor;

export class OciPushError extends OciError {
  constructor(message: string, status: number, code?: string) {
    super(message, status, code);
    this.name = 'OciPushError';
  }
}

export { digestOf };

const asPushError = (e: unknown): never => {
  if (e instanceof OciError && !(e instanceof OciPushError)) throw new OciPushError(e.message, e.status, e.code);
  throw e;
};

export class OciPusher {
  private readonly client: OciClient;

  constructor(baseUrl: string, fetchImpl: FetchLike = (r) => fetch(r)) {
    this.client = new OciClient(baseUrl, { fetch: fetchImpl });
  }

  pushBlob(repo: string, bytes: Uint8Array, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
    return this.client.pushBlob(repo, bytes, mediaType, annotations).catch(asPushError);
  }

  /** Streams a file into the registry (never read whole: model weights can be large). */
  pushBlobFile(repo: string, path: string, mediaType: string, annotations?: Record<string, string>): Promise<Descriptor> {
    return this.client.pushBlobFile(repo, path, mediaType, annotations).catch(asPushError);
  }

  /** PUTs a manifest under `ref` (a digest or a tag); returns its descriptor. */
  pushManifest(repo: string, ref: string, bytes: Uint8Array, mediaType: string = MediaType.ociManifest): Promise<Descriptor> {
    return this.client.pushManifest(repo, ref, bytes, mediaType).catch(asPushError);
  }

  async getManifest(repo: string, ref: string): Promise<{ bytes: Uint8Array; mediaType: string } | undefined> {
    const m = await this.client.getManifest(repo, ref, { verify: false }).catch(asPushError);
    return m && { bytes: m.bytes, mediaType: m.mediaType };
  }

  fetchBlob(repo: string, digest: string): Promise<Uint8Array> {
    return this.client.fetchBlob(repo, digest, { verify: false }).catch(asPushError);
  }

  /** Referrers of `digest`: the referrers API when the registry has one, else the `sha256-<hex>` tag index. */
  referrers(repo: string, digest: string): Promise<Descriptor[]> {
    return this.client.referrers(repo, digest).catch(asPushError);
  }

  /** Adds referrer descriptors to the fallback tag index (read-modify-write; the publisher is the only writer of a new model). */
  addToFallbackIndex(repo: string, subjectDigest: string, add: Descriptor[]): Promise<void> {
    return this.client.addToFallbackIndex(repo, subjectDigest, add).catch(asPushError);
  }
}
