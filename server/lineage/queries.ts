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

/** Evidence that verified (signed by the trusted key, about this version): what `ModelVersion.attestations` lists. */
export interface AttestationRow {
  subject: string; // version id
  kind: string;
  mediaType: string;
  artifactType: string | null;
  digest: string;
  /** The trusted key's id: the evidence verified with it. */
  signerKeyId: string | null;
}

/** Anything else attached to a version: listed, never shown as fact. */
export interface AttachmentRow {
  subject: string;
  digest: string;
  artifactType: string | null;
  /** The signer the document names for itself (unverified). */
  signerHint: string | null;
  verified: false;
  reason: string;
}

export interface VersionEvidence {
  attestations: AttestationRow[];
  unverified: AttachmentRow[];
}

const EVIDENCE_COLUMNS = [
  'm.repo',
  'm.digest',
  'm.artifact_type',
  'm.subject_digest',
  'm.signer_key_id',
  'm.verified',
  'm.evidence_kind',
  'm.signer_hint',
  'm.trust_reason',
] as const;

/**
 * Referrers of each version (any manifest whose subject it is, indexes too) plus its cosign `.sig` tag manifest,
 * split by their verdict (ordered by digest, not date).
 */
export async function evidenceByVersions(
  db: Db,
  versions: readonly { id: string; repo: string; digest: string }[],
): Promise<Map<string, VersionEvidence>> {
  const out = new Map<string, VersionEvidence>(versions.map((v) => [v.id, { attestations: [], unverified: [] }]));
  if (!versions.length) return out;
  const repos = [...new Set(versions.map((v) => v.repo))];
  const digests = [...new Set(versions.map((v) => v.digest))];
  const refs = await db
    .selectFrom('lineage_manifests as m')
    .select(EVIDENCE_COLUMNS)
    .where('m.repo', 'in', repos)
    .where('m.subject_digest', 'in', digests)
    .orderBy('m.digest')
    .execute();
  const sigTag = (digest: string): string => `${digest.replace(':', '-')}.sig`;
  const sigs = await db
    .selectFrom('lineage_tags as t')
    .innerJoin('lineage_manifests as m', (j) => j.onRef('m.repo', '=', 't.repo').onRef('m.digest', '=', 't.digest'))
    .select([...EVIDENCE_COLUMNS, 't.tag'])
    .where('t.repo', 'in', repos)
    .where(
      't.tag',
      'in',
      versions.map((v) => sigTag(v.digest)),
    )
    .execute();
  for (const v of versions) {
    const e = out.get(v.id)!;
    const mine = [
      ...refs.filter((r) => r.repo === v.repo && r.subject_digest === v.digest),
      ...sigs.filter((s) => s.repo === v.repo && s.tag === sigTag(v.digest)),
    ];
    for (const r of mine) {
      if (r.verified === 1)
        e.attestations.push({
          subject: v.id,
          kind: r.evidence_kind ?? 'other',
          mediaType: MediaType.ociManifest,
          artifactType: r.artifact_type,
          digest: r.digest,
          signerKeyId: r.signer_key_id,
        });
      else
        e.unverified.push({
          subject: v.id,
          digest: r.digest,
          artifactType: r.artifact_type,
          signerHint: r.signer_hint,
          verified: false,
          reason: r.trust_reason ?? 'not checked',
        });
    }
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
