import pMap from 'p-map';
import type { Logger } from 'pino';
import type { Db } from '../db/connect.ts';
import { PLATFORM } from '../identity.ts';
import { crashPoint } from '../ops/crash-point.ts';
import type { RegistryService } from './service.ts';
import type { RegistryStore } from './store/port.ts';

export interface ReconcileDeps {
  db: Db;
  store: RegistryStore;
  registry: RegistryService;
  log: Logger;
  /** Namespaces only the platform writes (the trusted one and the inputs beside it): see step 3. */
  platformNamespaces: readonly string[];
  /**
   * Rows younger than this are left to step 1 of a later start: with a database shared by several nodes another
   * one may be between its row and its PUT right now. 0 where this process is the index's only writer.
   */
  graceMs: number;
}

export interface ReconcileReport {
  /** Index rows of manifests the store does not hold. */
  rows: number;
  /** Embedded tags that pointed at no indexed manifest. */
  tags: number;
  /** Manifests in the platform's namespaces that described a manifest that is gone. */
  orphans: number;
}

/** Manifests checked against the store at once (upstream: one GET each). */
const CONCURRENCY = 8;
/** The evidence tags of cascade.ts: `sha256-<hex>` and its `.sig`/`.att`/`.sbom`. */
const EVIDENCE_TAG = /^(sha256|sha512)-([a-f0-9]+)(\.(sig|att|sbom))?$/;

/**
 * Makes the front's index (`registry_manifests`, and the embedded store's `registry_tags`) agree with what the
 * store holds, once at start, before anything is served. A kill -9 can leave, at most:
 *  1. an index row without its manifest (the row is written before the store's PUT, and removed after the store's
 *     DELETE): the row goes — the referrers API must not list what cannot be fetched;
 *  2. an embedded tag on a manifest that is gone (its unlink ran, the tag delete did not): the tag goes;
 *  3. referrers (and `sha256-<hex>` / `.sig` evidence tags) of a manifest whose delete was cut off (deletes go
 *     parents first, cascade.ts): in the platform's namespaces, where nothing is ever pushed before its subject,
 *     they are deleted too. Elsewhere a client may push a referrer before its subject (OCI allows it): left.
 * The other direction (a manifest in an upstream distribution that the index lacks) cannot come from the front's
 * own writes; tag removals on 2.8 that a crash cut off are finished by the upstream store when it opens.
 * With a shared database (several nodes), rows younger than `graceMs` are not judged.
 */
export async function reconcileRegistry(d: ReconcileDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { rows: 0, tags: 0, orphans: 0 };
  const rows = await d.db
    .selectFrom('registry_manifests')
    .select(['repo', 'digest'])
    .where('created_at', '<=', new Date(Date.now() - d.graceMs).toISOString())
    .execute();
  await pMap(
    rows,
    async (r) => {
      if (await d.store.getManifest(r.repo, r.digest)) return;
      await d.db.deleteFrom('registry_manifests').where('repo', '=', r.repo).where('digest', '=', r.digest).execute();
      report.rows++;
      crashPoint('reconcile:row-removed');
    },
    { concurrency: CONCURRENCY },
  );
  if (d.store.kind === 'embedded') {
    const dangling = await d.db
      .deleteFrom('registry_tags')
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('registry_manifests')
              .select('registry_manifests.digest')
              .whereRef('registry_manifests.repo', '=', 'registry_tags.repo')
              .whereRef('registry_manifests.digest', '=', 'registry_tags.digest'),
          ),
        ),
      )
      .executeTakeFirst();
    report.tags = Number(dangling.numDeletedRows);
  }
  report.orphans = await sweepOrphans(d);
  if (report.rows || report.tags || report.orphans)
    d.log.warn({ ...report }, 'registry: index reconciled after a crash');
  return report;
}

const inPlatform = (d: ReconcileDeps, repo: string) => d.platformNamespaces.some((ns) => repo.startsWith(`${ns}/`));

/** Step 3, until nothing is left (a signature of an orphaned attestation is orphaned once that one goes). */
async function sweepOrphans(d: ReconcileDeps): Promise<number> {
  let swept = 0;
  for (;;) {
    const has = async (repo: string, digest: string) =>
      Boolean(
        await d.db
          .selectFrom('registry_manifests')
          .select('digest')
          .where('repo', '=', repo)
          .where('digest', '=', digest)
          .executeTakeFirst(),
      );
    const found: { repo: string; digest: string }[] = [];
    const referrers = await d.db
      .selectFrom('registry_manifests')
      .select(['repo', 'digest', 'subject_digest'])
      .where('subject_digest', 'is not', null)
      .execute();
    for (const r of referrers) if (inPlatform(d, r.repo) && !(await has(r.repo, r.subject_digest!))) found.push(r);
    for (const repo of (await d.store.listRepositories()).filter((r) => inPlatform(d, r))) {
      for (const tag of (await d.store.listTags(repo)) ?? []) {
        const m = EVIDENCE_TAG.exec(tag);
        if (!m || (await has(repo, `${m[1]}:${m[2]}`))) continue;
        const target = await d.store.getManifest(repo, tag);
        if (target) found.push({ repo, digest: target.digest });
      }
    }
    let pass = 0;
    for (const f of found) pass += (await d.registry.deleteVersion(PLATFORM, f.repo, f.digest))?.length ?? 0;
    if (!pass) return swept; // nothing more could go: another pass would find the same
    swept += pass;
  }
}
