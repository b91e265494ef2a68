import { join } from 'node:path';
import type { Config } from '../../config.ts';
import type { Db } from '../../db/connect.ts';
import type { RegistryStore } from './port.ts';
import { upstreamBlobs } from './upstream/blobs.ts';
import { UpstreamHttp } from './upstream/http.ts';
import { upstreamManifests } from './upstream/manifests.ts';
import { uploadSessions } from './upstream/sessions.ts';
import { tagIntents } from './upstream/tag-intents.ts';

/**
 * The upstream store: a CNCF distribution registry (Debian's docker-registry 2.8) over HTTP, streaming
 * blobs both ways (AIBOMGEN_UPSTREAM_URL; its config is registry-config/config.yml). It makes up for what
 * 2.8 does not do — see upstream/blobs.ts (chunk order, monolithic uploads, verification before commit)
 * and upstream/manifests.ts (Accept, `"tags": null`, DELETE by tag made crash-safe by upstream/tag-intents.ts,
 * sha512 manifests). The referrers API
 * is the front's own (2.8 has none), answered from the index it keeps on every manifest PUT.
 */
export const UpstreamStore = {
  async open(config: Config, db: Db): Promise<RegistryStore> {
    if (!config.upstreamUrl) throw new Error('AIBOMGEN_UPSTREAM_URL is required when AIBOMGEN_REGISTRY_STORE=upstream');
    const http = new UpstreamHttp(config.upstreamUrl);
    const sessions = uploadSessions(http, {
      ttlMs: config.uploadSessionTtlSeconds * 1000,
      maxPerOwner: config.maxUploadSessionsPerIdentity,
    });
    const blobs = upstreamBlobs(http, sessions, config.maxBlobBytes);
    const intents = tagIntents(join(config.dataDir, 'registry', 'upstream-tag-intents'));
    const { replayTagIntents, ...manifests } = upstreamManifests(http, db, blobs, config.maxManifestBytes, intents);
    // Before anything is served: tag removals a crash cut off are finished (their manifests and other tags back).
    await replayTagIntents();
    return {
      kind: 'upstream',
      ...blobs,
      uploadSessionCount: () => sessions.size,
      sweepUploads: () => sessions.sweep(),
      maxBlobBytes: config.maxBlobBytes,
      ...manifests,
      async close() {
        sessions.close();
        await http.close();
      },
    };
  },
};
