import { join } from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import { crashPoint } from '../../ops/crash-point.ts';
import { BlobFiles } from './blob-files.ts';
import { claimStore } from './in-use.ts';
import type { RegistryStore, StoredManifest } from './port.ts';

/**
 * The embedded store: blobs, uploads and manifest bytes as files under `<dataDir>/registry` (see layout.ts,
 * blob-files.ts, uploads.ts); tags in `registry_tags`. Opening it marks the directory in use (in-use.ts) and
 * purges upload sessions a crash or a stop left behind past their TTL. A manifest's media type comes from `registry_manifests`, the
 * index the front writes on every manifest PUT (both modes), so the store never parses manifests.
 */
export const EmbeddedStore = {
  async open(config: Config, db: Db): Promise<RegistryStore> {
    const files = new BlobFiles(join(config.dataDir, 'registry'), {
      ttlMs: config.uploadSessionTtlSeconds * 1000,
      maxPerOwner: config.maxUploadSessionsPerIdentity,
      maxBlobBytes: config.maxBlobBytes,
    });
    const { uploads } = files;
    const release = await claimStore(files.layout);
    await uploads.purgeExpired(); // what a crash or a stop left behind
    const byDigest = async (repo: string, digest: string): Promise<StoredManifest | null> => {
      const row = await db
        .selectFrom('registry_manifests')
        .select(['media_type'])
        .where('repo', '=', repo)
        .where('digest', '=', digest)
        .executeTakeFirst();
      if (!row) return null;
      const r = await files.read(repo, digest);
      if (!r) return null;
      const chunks: Buffer[] = [];
      for await (const c of r.body) chunks.push(c as Buffer);
      return { digest, mediaType: row.media_type, bytes: new Uint8Array(Buffer.concat(chunks)) };
    };
    return {
      kind: 'embedded',
      statBlob: (repo, digest) => files.stat(repo, digest),
      readBlob: (repo, digest, range) => files.read(repo, digest, range),
      deleteBlob: (repo, digest) => files.unlink(repo, digest),
      mountBlob: (repo, from, digest) => files.mount(repo, from, digest),
      createUpload: (repo, owner) => uploads.create(repo, owner),
      getUpload: (repo, id) => uploads.get(repo, id),
      appendUpload: (repo, id, body, start) => uploads.append(repo, id, body, start),
      completeUpload: (repo, id, digest, body) => uploads.complete(repo, id, digest, body),
      cancelUpload: (repo, id) => uploads.cancel(repo, id),
      uploadSessionCount: () => uploads.size,
      sweepUploads: () => uploads.sweep(),
      maxBlobBytes: config.maxBlobBytes,
      async putManifest(repo, m, tag) {
        await files.putBytes(repo, m.digest, m.bytes);
        crashPoint('embedded:manifest-bytes');
        if (tag) {
          // A tag moves in one statement: a crash leaves it on the old manifest or the new one, never on none.
          await db
            .insertInto('registry_tags')
            .values({ repo, tag, digest: m.digest })
            .onConflict((oc) => oc.columns(['repo', 'tag']).doUpdateSet({ digest: m.digest }))
            .execute();
        }
      },
      async getManifest(repo, reference) {
        if (reference.includes(':')) return byDigest(repo, reference);
        const t = await db
          .selectFrom('registry_tags')
          .select('digest')
          .where('repo', '=', repo)
          .where('tag', '=', reference)
          .executeTakeFirst();
        return t ? byDigest(repo, t.digest) : null;
      },
      async deleteManifest(repo, digest) {
        // Only a manifest: a blob's digest sent to DELETE /manifests/ must not unlink the blob.
        const row = await db
          .selectFrom('registry_manifests')
          .select('digest')
          .where('repo', '=', repo)
          .where('digest', '=', digest)
          .executeTakeFirst();
        if (!row) return false;
        const had = await files.unlink(repo, digest);
        crashPoint('embedded:manifest-unlinked');
        await db.deleteFrom('registry_tags').where('repo', '=', repo).where('digest', '=', digest).execute();
        return had;
      },
      async deleteTag(repo, tag) {
        const r = await db
          .deleteFrom('registry_tags')
          .where('repo', '=', repo)
          .where('tag', '=', tag)
          .executeTakeFirst();
        return Number(r.numDeletedRows) > 0;
      },
      async listTags(repo) {
        const rows = await db
          .selectFrom('registry_tags')
          .select('tag')
          .where('repo', '=', repo)
          .orderBy('tag')
          .execute();
        if (rows.length === 0) {
          const any = await db
            .selectFrom('registry_manifests')
            .select('digest')
            .where('repo', '=', repo)
            .executeTakeFirst();
          return any ? [] : null;
        }
        return rows.map((r) => r.tag);
      },
      async listRepositories() {
        const rows = await db.selectFrom('registry_manifests').select('repo').distinct().orderBy('repo').execute();
        return rows.map((r) => r.repo);
      },
      async close() {
        uploads.close();
        await release();
      },
    };
  },
};
