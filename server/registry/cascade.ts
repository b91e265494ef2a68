import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import { crashPoint } from '../ops/crash-point.ts';
import type { RegistryStore } from './store/port.ts';

/**
 * Tags under which clients keep what describes a manifest where a registry lacks the referrers API: the
 * `sha256-<hex>` fallback index (OCI 1.1), cosign's `.sig` signatures, `.att` attestations and `.sbom`s.
 * Tags of this shape are reserved for such evidence (server/lineage/manifest.ts reads them the same way).
 */
export function evidenceTags(digest: string): string[] {
  const base = digest.replace(':', '-');
  return [base, `${base}.sig`, `${base}.att`, `${base}.sbom`];
}

/**
 * Every manifest that deleting `digest` from `repo` takes with it, `digest` first and parents before children:
 * its referrers (the index's `subject`), the manifests its evidence tags point at, and the same for each of
 * those in turn (a signature of an attestation is a referrer of a referrer). Parents first, so a delete cut off
 * by a crash never leaves a listed version that lost part of its evidence: what it leaves are referrers of a
 * manifest that is gone, which the reconcile at the next start sweeps (reconcile.ts).
 */
export async function cascadeOf(d: { db: Db; store: RegistryStore }, repo: string, digest: string): Promise<string[]> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (dg: string): Promise<void> => {
    if (seen.has(dg)) return;
    seen.add(dg);
    const rows = await d.db
      .selectFrom('registry_manifests')
      .select('digest')
      .where('repo', '=', repo)
      .where('subject_digest', '=', dg)
      .execute();
    const children = rows.map((r) => r.digest);
    for (const tag of evidenceTags(dg)) {
      const m = await d.store.getManifest(repo, tag);
      if (m) children.push(m.digest);
    }
    order.push(dg);
    for (const c of children) await visit(c);
  };
  await visit(digest);
  return order;
}

/**
 * Deletes `digest` from `repo` with its cascade (above), each manifest from the store, then its index row, then a
 * `manifest.delete`; resolves to the digests that were stored. A subject that is not there touches nothing:
 * referrers may be pushed before their subject.
 */
export async function deleteCascade(
  d: { db: Db; store: RegistryStore; events: EventBus },
  repo: string,
  digest: string,
): Promise<string[]> {
  if (!(await d.store.getManifest(repo, digest))) return [];
  const deleted: string[] = [];
  for (const dg of await cascadeOf(d, repo, digest)) {
    const had = await d.store.deleteManifest(repo, dg);
    crashPoint('registry:cascade-stored-deleted');
    await d.db.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', dg).execute();
    crashPoint('registry:cascade-row-deleted');
    if (!had) continue;
    deleted.push(dg);
    d.events.emit('manifest.delete', { repo, digest: dg });
  }
  return deleted;
}
