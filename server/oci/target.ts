import type { Readable } from 'node:stream';
import type { Descriptor } from '../../schema/oci.ts';

/**
 * The unit everything in OCI speaks: what a blob or manifest is, where it is (digest) and how big. One type
 * for the whole code base: schema/oci.ts's zod `Descriptor` (type-only here, so the CLI loads no zod).
 */
export type OciDescriptor = Descriptor;

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

export interface ReadOptions {
  /** Check content against its digest (default true). */
  verify?: boolean;
}

/**
 * Content-addressed storage as the platform's code sees a registry, in the oras-go style: blobs and manifests
 * by descriptor, tags, referrers. Two implementations: `OciClient` (a registry over HTTP: the CLI, the bench,
 * the upstream adapter's tests) and the in-process registry service bound to a caller
 * (`RegistryService.as(caller)`: the publisher, the verifier, job inputs), which passes the same access check
 * as the /v2/ routes. Code written against this interface cannot tell the two apart.
 */
export interface OciTarget {
  /** Size of the blob in `repo`, or null when it is not there. */
  blobSize(repo: string, digest: string): Promise<number | null>;
  /** Pushes bytes already in memory (configs, small layers); skipped when the blob is there. */
  pushBlob(
    repo: string,
    bytes: Uint8Array,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor>;
  /** Pushes a file without holding it in memory; skipped when the blob is there. */
  pushBlobFile(
    repo: string,
    path: string,
    mediaType: string,
    annotations?: Record<string, string>,
  ): Promise<OciDescriptor>;
  /** A blob as a stream that fails at its end when the content does not match `digest` (unless verify: false). */
  openBlob(repo: string, digest: string, opts?: ReadOptions): Promise<{ size: number; stream: Readable }>;
  /** A small blob's bytes (configs, signatures, evidence). */
  fetchBlob(repo: string, digest: string, opts?: ReadOptions): Promise<Uint8Array>;
  /** Streams a blob to `path` (written beside it first, renamed only once the digest matched). */
  pullBlobToFile(repo: string, digest: string, path: string): Promise<number>;
  /** PUTs a manifest under `ref` (a digest or a tag); returns its descriptor. */
  pushManifest(repo: string, ref: string, bytes: Uint8Array, mediaType?: string): Promise<OciDescriptor>;
  /** A manifest by tag or digest, or undefined when unknown. */
  getManifest(repo: string, ref: string, opts?: ReadOptions): Promise<FetchedManifest | undefined>;
  /** Deletes a manifest by digest, or a tag. */
  deleteManifest(repo: string, ref: string): Promise<void>;
  /** Every tag of `repo`; empty when the repository is unknown. */
  tags(repo: string): Promise<string[]>;
  /** Referrers of `digest`, optionally of one artifact type. */
  referrers(repo: string, digest: string, artifactType?: string): Promise<OciDescriptor[]>;
  /** Adds descriptors to the `sha256-<hex>` fallback tag index of `subjectDigest` (read-modify-write). */
  addToFallbackIndex(repo: string, subjectDigest: string, add: OciDescriptor[]): Promise<void>;
}
