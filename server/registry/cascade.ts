import type { Db } from '../db/connect.ts';
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
 * Every manifest that deleting `digest` from `repo` takes with it, children before parents and `digest` last:
 * its referrers (the index's `subject`), the manifests its evidence tags point at, and the same for each of
 * those in turn (a signature of an attestation is a referrer of a referrer).
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
    for (const c of children) await visit(c);
    order.push(dg);
  };
  await visit(digest);
  return order;
}
