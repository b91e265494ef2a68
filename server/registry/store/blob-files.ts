import type { Readable } from 'node:stream';
import { BlobContent } from './blob-content.ts';
import type { Layout } from './layout.ts';
import type { BlobRead, BlobStat, ByteRange, UploadState } from './port.ts';
import type { SessionLimits } from './session-table.ts';
import { EmbeddedUploads } from './uploads.ts';

export type UploadLimits = SessionLimits & { maxBlobBytes: number };

/** No limits beyond an hour's expiry: what a bare BlobFiles (tests, tools) gets. */
const UNLIMITED: UploadLimits = {
  ttlMs: 3600_000,
  maxPerOwner: Number.MAX_SAFE_INTEGER,
  maxBlobBytes: Number.MAX_SAFE_INTEGER,
};

/**
 * The embedded store's files in one object: content-addressed blobs and repository links (blob-content.ts)
 * and upload sessions (uploads.ts), both under one root laid out as layout.ts says.
 */
export class BlobFiles {
  readonly content: BlobContent;
  readonly uploads: EmbeddedUploads;
  constructor(root: string, limits: UploadLimits = UNLIMITED) {
    this.content = new BlobContent(root);
    this.uploads = new EmbeddedUploads(this.content, limits);
  }

  get layout(): Layout {
    return this.content.layout;
  }
  stat(repo: string, digest: string): Promise<BlobStat | null> {
    return this.content.stat(repo, digest);
  }
  read(repo: string, digest: string, range?: ByteRange): Promise<BlobRead | null> {
    return this.content.read(repo, digest, range);
  }
  putBytes(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
    return this.content.putBytes(repo, digest, bytes);
  }
  unlink(repo: string, digest: string): Promise<boolean> {
    return this.content.unlink(repo, digest);
  }
  mount(repo: string, from: string, digest: string): Promise<BlobStat | null> {
    return this.content.mount(repo, from, digest);
  }
  createUpload(repo: string, owner = 'anonymous'): Promise<UploadState> {
    return this.uploads.create(repo, owner);
  }
  getUpload(repo: string, id: string): Promise<UploadState | null> {
    return this.uploads.get(repo, id);
  }
  append(repo: string, id: string, body: Readable, start?: number): Promise<UploadState> {
    return this.uploads.append(repo, id, body, start);
  }
  complete(repo: string, id: string, digest: string, body?: Readable): Promise<BlobStat> {
    return this.uploads.complete(repo, id, digest, body);
  }
  cancel(repo: string, id: string): Promise<boolean> {
    return this.uploads.cancel(repo, id);
  }
  close(): void {
    this.uploads.close();
  }
}
