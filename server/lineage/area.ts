import type { Area, Services } from '../context.ts';
import { LineageIndexer } from './indexer.ts';
import { SerialQueue } from './queue.ts';

/** What other areas (GraphQL, tests, bench) use of the lineage index. */
export interface LineageIndex {
  indexer: LineageIndexer;
  /** Resolves once every registry/job event received so far is indexed. */
  idle(): Promise<void>;
  /** Records a verification result for the `verified` filter. */
  recordVerification(repo: string, digest: string, verified: boolean): Promise<void>;
}

const indexes = new WeakMap<Services, LineageIndex>();

/** The lineage index of a running server (undefined before `setupLineage`). */
export function lineageOf(s: Services): LineageIndex | undefined {
  return indexes.get(s);
}

/** Feeds every stored manifest, then every tag, through the indexer (the same path as live pushes). */
async function backfill(s: Services, indexer: LineageIndexer): Promise<void> {
  const rows = await s.db.selectFrom('registry_manifests').select(['repo', 'digest']).orderBy('created_at').execute();
  for (const r of rows) {
    const m = await s.store.getManifest(r.repo, r.digest);
    if (m) await indexer.manifestPut({ repo: r.repo, digest: m.digest, mediaType: m.mediaType, bytes: m.bytes });
  }
  for (const repo of new Set(rows.map((r) => r.repo))) {
    for (const tag of (await s.store.listTags(repo)) ?? []) {
      const m = await s.store.getManifest(repo, tag);
      if (m) await indexer.manifestPut({ repo, digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, tag });
    }
  }
  s.log.info({ manifests: rows.length }, 'lineage: index rebuilt from the registry');
}

/** Lineage index: listens to manifest and job events (owner: server/lineage). */
export async function setupLineage(s: Services): Promise<Area> {
  const indexer = new LineageIndexer(s.db, s.store, s.log);
  const queue = new SerialQueue((err, what) => s.log.error({ err, what }, 'lineage: indexing failed'));
  const background = new Set<Promise<void>>();

  const recordVerification = async (repo: string, digest: string, verified: boolean): Promise<void> => {
    await s.db.updateTable('lineage_versions').set({ verified: verified ? 1 : 0, verified_at: new Date().toISOString() })
      .where('repo', '=', repo).where('digest', '=', digest).execute();
  };

  const onPut = (e: Parameters<LineageIndexer['manifestPut']>[0]): void => queue.push(`manifest.put ${e.repo}@${e.digest}`, () => indexer.manifestPut(e));
  const onDelete = (e: { repo: string; digest: string }): void => queue.push(`manifest.delete ${e.repo}@${e.digest}`, () => indexer.manifestDelete(e));
  const onTagDelete = (e: { repo: string; tag: string }): void => queue.push(`tag.delete ${e.repo}:${e.tag}`, () => indexer.tagDelete(e));
  const onPublished = (e: Parameters<LineageIndexer['published']>[0]): void => {
    queue.push(`job.published ${e.jobId}`, () => indexer.published(e));
    // A publication is complete (every referrer, then the tag): the right moment for the verified flag.
    const verifier = s.verifier;
    if (!verifier) return;
    const p = (async () => {
      const r = await verifier.verify(`${e.publication.repository}@${e.publication.digest}`);
      await queue.idle();
      await recordVerification(e.publication.repository, e.publication.digest, r.verified);
    })().catch((err: unknown) => s.log.warn({ err, jobId: e.jobId }, 'lineage: verification after publish failed'));
    background.add(p);
    void p.finally(() => background.delete(p));
  };
  s.events.on('manifest.put', onPut);
  s.events.on('manifest.delete', onDelete);
  s.events.on('tag.delete', onTagDelete);
  s.events.on('job.published', onPublished);

  // A data directory from before the lineage index (or a wiped index): rebuild it from the registry, in the background.
  const empty = !(await s.db.selectFrom('lineage_manifests').select('repo').limit(1).executeTakeFirst());
  const stored = await s.db.selectFrom('registry_manifests').select('repo').limit(1).executeTakeFirst();
  if (empty && stored) queue.push('backfill from the registry', () => backfill(s, indexer));

  indexes.set(s, { indexer, idle: () => queue.idle(), recordVerification });
  return {
    name: 'lineage',
    async close() {
      s.events.off('manifest.put', onPut);
      s.events.off('manifest.delete', onDelete);
      s.events.off('tag.delete', onTagDelete);
      s.events.off('job.published', onPublished);
      await Promise.allSettled([...background]);
      await queue.idle();
    },
  };
}
