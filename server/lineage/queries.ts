import { sql } from 'kysely';
import type { LineageVersionsTable } from '../../schema/db/lineage.ts';
import { MediaType } from '../../schema/media-types.ts';
import type { Db } from '../db/connect.ts';
import { nodeId } from './ids.ts';
import { parseReference } from '../../schema/reference.ts';
import { isEvidenceTag, parseDigestRef, primaryTagSql } from './manifest.ts';

/** Read side of the lineage index, in batches (the GraphQL DataLoaders call these). */

/** A version with the tag it was pushed under (`primaryTagSql`): what ModelVersion resolves from. */
export type VersionRow = LineageVersionsTable & { primary_tag: string | null };
export interface TagRow {
  repo: string;
  tag: string;
  digest: string;
  created_at: string;
}

/** Versions (`v`) with their primary tag. */
function selectVersions(db: Db) {
  return db
    .selectFrom('lineage_versions as v')
    .selectAll('v')
    .select(primaryTagSql(sql.ref('v.repo'), sql.ref('v.digest')).as('primary_tag'));
}

export async function versionsByIds(db: Db, ids: readonly string[]): Promise<VersionRow[]> {
  return ids.length
    ? selectVersions(db)
        .where('v.id', 'in', [...ids])
        .execute()
    : [];
}

export async function versionsByRepos(db: Db, repos: readonly string[]): Promise<VersionRow[]> {
  return repos.length
    ? selectVersions(db)
        .where('v.repo', 'in', [...repos])
        .orderBy('v.created', 'desc')
        .orderBy('v.id')
        .execute()
    : [];
}

/** Tags that name versions or aliases (evidence tags left out), oldest first. */
export async function tagsByRepos(db: Db, repos: readonly string[]): Promise<TagRow[]> {
  if (!repos.length) return [];
  const rows = await db
    .selectFrom('lineage_tags')
    .selectAll()
    .where('repo', 'in', [...repos])
    .orderBy('created_at')
    .orderBy('tag')
    .execute();
  return rows.filter((r) => !isEvidenceTag(r.tag));
}

export interface AttestationRow {
  subject: string; // version id
  kind: string;
  mediaType: string;
  artifactType: string | null;
  digest: string;
  signerKeyId: string | null;
}

const PREDICATE_KIND: Record<string, string> = {
  'https://cyclonedx.org/bom': 'aibom-signature',
  'https://slsa.dev/provenance/v1': 'slsa-provenance',
};

function attestationKind(artifactType: string | null, annotations: Record<string, string>): string {
  if (artifactType === MediaType.cyclonedxJson) return 'aibom';
  if (artifactType === MediaType.inTotoLink) return 'in-toto-link';
  if (artifactType?.startsWith('application/vnd.dev.sigstore.bundle')) {
    return PREDICATE_KIND[annotations['dev.sigstore.bundle.predicateType'] ?? ''] ?? 'sigstore-bundle';
  }
  return 'other';
}

/** Referrers of each version plus its cosign `.sig` tag manifest. */
export async function attestationsByVersions(
  db: Db,
  versions: readonly { id: string; repo: string; digest: string }[],
): Promise<AttestationRow[]> {
  if (!versions.length) return [];
  const out: AttestationRow[] = [];
  const repos = [...new Set(versions.map((v) => v.repo))];
  const digests = [...new Set(versions.map((v) => v.digest))];
  const refs = await db
    .selectFrom('lineage_manifests')
    .select(['repo', 'digest', 'artifact_type', 'subject_digest', 'annotations_json', 'signer_key_id', 'created_at'])
    .where('repo', 'in', repos)
    .where('subject_digest', 'in', digests)
    .orderBy('created_at')
    .execute();
  const sigTags = versions.map((v) => `${v.digest.replace(':', '-')}.sig`);
  const sigs = await db
    .selectFrom('lineage_tags')
    .select(['repo', 'tag', 'digest'])
    .where('repo', 'in', repos)
    .where('tag', 'in', sigTags)
    .execute();
  for (const v of versions) {
    for (const r of refs) {
      if (r.repo !== v.repo || r.subject_digest !== v.digest) continue;
      const ann = r.annotations_json ? (JSON.parse(r.annotations_json) as Record<string, string>) : {};
      out.push({
        subject: v.id,
        kind: attestationKind(r.artifact_type, ann),
        mediaType: MediaType.ociManifest,
        artifactType: r.artifact_type,
        digest: r.digest,
        signerKeyId: r.signer_key_id,
      });
    }
    const sig = sigs.find((s) => s.repo === v.repo && s.tag === `${v.digest.replace(':', '-')}.sig`);
    if (sig)
      out.push({
        subject: v.id,
        kind: 'cosign-signature',
        mediaType: MediaType.ociManifest,
        artifactType: null,
        digest: sig.digest,
        signerKeyId: null,
      });
  }
  return out;
}

/**
 * A version by reference: `repo:tag`, `repo@digest` (a registry host is allowed and dropped), or a node id.
 * Undefined when the index has no such version.
 */
export async function findVersion(db: Db, ref: string): Promise<VersionRow | undefined> {
  const r = ref.trim();
  if (r.startsWith('model:')) return selectVersions(db).where('v.id', '=', r).executeTakeFirst();
  const byDigest = parseDigestRef(r);
  if (byDigest?.repo)
    return selectVersions(db).where('v.id', '=', nodeId.model(byDigest.repo, byDigest.digest)).executeTakeFirst();
  if (byDigest)
    return selectVersions(db).where('v.digest', '=', byDigest.digest).orderBy('v.id').limit(1).executeTakeFirst();
  const { repo, reference: tag } = parseReference(r);
  return selectVersions(db)
    .innerJoin('lineage_tags as t', (j) => j.onRef('t.repo', '=', 'v.repo').onRef('t.digest', '=', 'v.digest'))
    .where('t.repo', '=', repo)
    .where('t.tag', '=', tag)
    .executeTakeFirst();
}

export interface ModelFilter {
  name?: string | null;
  author?: string | null;
  license?: string | null;
  task?: string | null;
  framework?: string | null;
  createdAfter?: string | null;
  createdBefore?: string | null;
  verified?: boolean | null;
}

/** Repositories with at least one version matching `f`, by name after the cursor, and their total count. */
export async function listModels(
  db: Db,
  f: ModelFilter,
  first: number,
  after?: string,
): Promise<{ repos: string[]; hasNext: boolean; total: number }> {
  let q = db.selectFrom('lineage_versions');
  if (f.name) q = q.where(sql<boolean>`repo like ${`%${f.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`} escape '\\'`);
  for (const col of ['author', 'license', 'task', 'framework'] as const) {
    const v = f[col];
    if (v) q = q.where(sql`lower(${sql.ref(col)})`, '=', v.toLowerCase());
  }
  if (f.createdAfter) q = q.where('created', '>=', f.createdAfter);
  if (f.createdBefore) q = q.where('created', '<=', f.createdBefore);
  if (f.verified === true) q = q.where('verified', '=', 1);
  if (f.verified === false) q = q.where((eb) => eb.or([eb('verified', 'is', null), eb('verified', '=', 0)]));
  const total = await q.select(sql<number>`count(distinct repo)`.as('n')).executeTakeFirstOrThrow();
  let page = q
    .select('repo')
    .distinct()
    .orderBy('repo')
    .limit(first + 1);
  if (after) page = page.where('repo', '>', after);
  const rows = await page.execute();
  return { repos: rows.slice(0, first).map((r) => r.repo), hasNext: rows.length > first, total: Number(total.n) };
}
