import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * The registry store port: content-addressed storage for one OCI registry.
 *
 * Two adapters implement it: `embedded.ts` (files on the local disk + metadata in the database) and
 * `upstream.ts` (a CNCF distribution registry over HTTP). The HTTP front (`server/registry/routes.ts`)
 * speaks the distribution-spec to clients and calls only this port, so both modes behave the same.
 *
 * Contract shared by both adapters:
 * - Repository names, tags and digests reaching the port are already validated by the front.
 * - Blob content is streamed, never buffered whole; a blob becomes visible only after its digest matched.
 * - Failures that map to a distribution-spec error throw `RegistryError` (see `../errors.ts`).
 * - Manifest bytes are stored and returned byte-exact.
 */
export interface RegistryStore {
  readonly kind: 'embedded' | 'upstream';

  // ---- blobs ----
  /** Size of a blob linked into `repo`, or null when the repository has no such blob. */
  statBlob(repo: string, digest: string): Promise<BlobStat | null>;
  /**
   * A blob's bytes (the whole blob, or `range` inclusive), or null when unknown. With `redirect`, a store whose
   * backend offers the bytes at a URL of its own (distribution on S3: a pre-signed URL) may answer with that
   * URL in `redirect` instead of the bytes, for an HTTP client to fetch directly.
   */
  readBlob(repo: string, digest: string, range?: ByteRange, opts?: ReadBlobOptions): Promise<BlobRead | null>;
  /** Unlinks a blob from `repo`. False when it was not there. */
  deleteBlob(repo: string, digest: string): Promise<boolean>;
  /** Links a blob that `from` has into `repo` without moving bytes; null when `from` lacks it. */
  mountBlob(repo: string, from: string, digest: string): Promise<BlobStat | null>;

  // ---- uploads (distribution-spec "push" sessions) ----
  /**
   * Opens a session for `owner` (the caller's owner name). Throws TOOMANYREQUESTS (429) when the owner holds
   * `maxUploadSessionsPerIdentity` open sessions already. A session untouched for `uploadSessionTtlSeconds` is
   * purged, with everything it holds.
   */
  createUpload(repo: string, owner: string): Promise<UploadState>;
  getUpload(repo: string, id: string): Promise<UploadState | null>;
  /**
   * Appends `body` to the session. When `start` is given it must equal the current offset, else the
   * adapter throws RANGE_INVALID (HTTP 416) and appends nothing. One request at a time per session: another
   * PATCH or PUT while one runs is refused with BLOB_UPLOAD_INVALID (409). Content past `maxBlobBytes` ends
   * the session (everything removed) with SIZE_INVALID (413).
   */
  appendUpload(repo: string, id: string, body: Readable, start?: number): Promise<UploadState>;
  /**
   * Appends the optional final `body`, checks the whole content against `digest` and makes the blob
   * visible. Throws DIGEST_INVALID (and keeps nothing) on mismatch. A blob already stored is never replaced.
   */
  completeUpload(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat>;
  cancelUpload(repo: string, id: string): Promise<boolean>;
  /** Upload sessions this process holds in memory. */
  uploadSessionCount(): number;
  /** Purges the upload sessions untouched for the TTL now (a timer does it too); resolves to how many went. */
  sweepUploads(): Promise<number>;
  /** The largest blob accepted, in bytes. */
  readonly maxBlobBytes: number;

  // ---- manifests and tags ----
  /** Stores manifest bytes under their digest and, when `tag` is given, points the tag at it. */
  putManifest(repo: string, manifest: StoredManifest, tag?: string): Promise<void>;
  /** A manifest by tag or digest, byte-exact, or null. */
  getManifest(repo: string, reference: string): Promise<StoredManifest | null>;
  /** Deletes a manifest by digest (and every tag pointing at it). False when unknown. */
  deleteManifest(repo: string, digest: string): Promise<boolean>;
  /** Removes one tag, leaving the manifest. False when unknown. */
  deleteTag(repo: string, tag: string): Promise<boolean>;
  /** Every tag of `repo`, in lexical order; null when the repository is unknown. */
  listTags(repo: string): Promise<string[] | null>;
  /** Every repository name, in lexical order. */
  listRepositories(): Promise<string[]>;

  /** Releases connections and timers. */
  close(): Promise<void>;
}

export interface BlobStat {
  digest: string;
  size: number;
}

/** Inclusive byte range, as in the HTTP Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ReadBlobOptions {
  /** The caller can follow a redirect (an HTTP client): a backend URL may be returned instead of the bytes. */
  redirect?: boolean;
}

export interface BlobRead extends BlobStat {
  /**
   * Where the client may fetch the bytes itself (a pre-signed object-store URL): `body` is then empty and `size`
   * unknown (0). Only with `ReadBlobOptions.redirect`.
   */
  redirect?: string;
  /** The content (or the range), not yet flowing. */
  body: Readable;
  /** Present when a range was served. */
  range?: ByteRange;
  /**
   * Where the same bytes lie in a local file, when they do (embedded store): the HTTP layer sends them from
   * there with reused buffers instead of consuming `body`. `body` reads through the same handle; destroying
   * `body` closes it.
   */
  file?: FileSpan;
}

/** Bytes `start`..`end` (inclusive) of an open file. */
export interface FileSpan {
  handle: FileHandle;
  start: number;
  end: number;
}

export interface UploadState {
  id: string;
  repo: string;
  /** Bytes received so far. */
  offset: number;
}

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}
