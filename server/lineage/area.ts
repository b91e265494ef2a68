import type { Logger } from 'pino';
import type { ModelVerifier } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import { PLATFORM } from '../identity.ts';
import type { RegistryService } from '../registry/service.ts';
import { LineageIndexer } from './indexer.ts';
import { SerialQueue } from './queue.ts';
import type { TrustedKey } from './trust.ts';

/** What other areas (GraphQL, tests, bench) use of the lineage index. */
export interface LineageIndex {
  indexer: LineageIndexer;
  /** Resolves once every registry/job event received so far is indexed. */
  idle(): Promise<void>;
  /**
   * A signer key left the trusted set (a revoked worker): what it signed stops counting in the index (queued with
   * the indexing). Resolves with the model versions affected.
   */
  untrustSigner(keyId: string, reason: string): Promise<{ repo: string; digest: string }[]>;
  /** Records a verification result for the `verified` filter. */
  recordVerification(repo: string, digest: string, verified: boolean): Promise<void>;
  /** Stops listening; waits for queued indexing. */
  close(): Promise<void>;
}

export interface LineageDeps {
  db: Db;
  log: Logger;
  events: EventBus;
  /** The content graph: manifests, blobs, tags (read as the platform). */
  registry: RegistryService;
  /** Sets the `verified` flag of a version once its publication is complete. */
  verifier: ModelVerifier;
  /** The keys attached evidence must verify with to be shown (the attest area's signer set); none: nothing is. */
  trustedKey?: TrustedKey;
}

/** Feeds every stored manifest, then every tag, through the indexer (the same path as live pushes). */
async function backfill(d: LineageDeps, indexer: LineageIndexer): Promise<void> {
  const rows = await d.registry.listManifests(PLATFORM);
  for (const r of rows) {
    const m = await d.registry.getManifest(PLATFORM, r.repo, r.digest);
    if (m) await indexer.manifestPut({ repo: r.repo, digest: m.digest, mediaType: m.mediaType, bytes: m.bytes });
  }
  for (const repo of new Set(rows.map((r) => r.repo))) {
    for (const tag of (await d.registry.listTags(PLATFORM, repo)) ?? []) {
      const m = await d.registry.getManifest(PLATFORM, repo, tag);
      if (m) await indexer.manifestPut({ repo, digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, tag });
    }
  }
  d.log.info({ manifests: rows.length }, 'lineage: index rebuilt from the registry');
}

/** The lineage index: follows the registry's manifest events and jobs' publications (owner: server/lineage). */
export async function createLineageIndex(d: LineageDeps): Promise<LineageIndex> {
  const { db, log, events } = d;
  const indexer = new LineageIndexer(db, d.registry.as(PLATFORM), log, d.trustedKey);
  const queue = new SerialQueue((err, what) => log.error({ err, what }, 'lineage: indexing failed'));
  const background = new Set<Promise<void>>();

  const recordVerification = async (repo: string, digest: string, verified: boolean): Promise<void> => {
    await db
      .updateTable('lineage_versions')
      .set({ verified: verified ? 1 : 0, verified_at: new Date().toISOString() })
      .where('repo', '=', repo)
      .where('digest', '=', digest)
      .execute();
  };

  const onPut = (e: Parameters<LineageIndexer['manifestPut']>[0]): void =>
    queue.push(`manifest.put ${e.repo}@${e.digest}`, () => indexer.manifestPut(e));
  const onDelete = (e: { repo: string; digest: string }): void =>
    queue.push(`manifest.delete ${e.repo}@${e.digest}`, () => indexer.manifestDelete(e));
  const onTagDelete = (e: { repo: string; tag: string }): void =>
    queue.push(`tag.delete ${e.repo}:${e.tag}`, () => indexer.tagDelete(e));
  const onPublished = (e: Parameters<LineageIndexer['published']>[0]): void => {
    queue.push(`job.published ${e.jobId}`, () => indexer.published(e));
    // A publication is complete (every referrer, then the tag): the right moment for the verified flag.
    const p = (async () => {
      const r = await d.verifier.verify(`${e.publication.repository}@${e.publication.digest}`);
      await queue.idle();
      await recordVerification(e.publication.repository, e.publication.digest, r.verified);
    })().catch((err: unknown) => log.warn({ err, jobId: e.jobId }, 'lineage: verification after publish failed'));
    background.add(p);
    void p.finally(() => background.delete(p));
  };
  events.on('manifest.put', onPut);
  events.on('manifest.delete', onDelete);
  events.on('tag.delete', onTagDelete);
  events.on('job.published', onPublished);

  // A data directory from before the lineage index (or a wiped index): rebuild it from the registry, in the background.
  const empty = !(await db.selectFrom('lineage_manifests').select('repo').limit(1).executeTakeFirst());
  if (empty && (await d.registry.listManifests(PLATFORM)).length > 0)
    queue.push('backfill from the registry', () => backfill(d, indexer));

  const untrustSigner = (keyId: string, reason: string): Promise<{ repo: string; digest: string }[]> =>
    new Promise((resolve, reject) =>
      queue.push(`untrust signer ${keyId}`, () => indexer.untrustSigner(keyId, reason).then(resolve, reject)),
    );

  return {
    indexer,
    idle: () => queue.idle(),
    untrustSigner,
    recordVerification,
    async close() {
      events.off('manifest.put', onPut);
      events.off('manifest.delete', onDelete);
      events.off('tag.delete', onTagDelete);
      events.off('job.published', onPublished);
      await Promise.allSettled([...background]);
      await queue.idle();
    },
  };
}
