/**
 * The lineage index's view of evidence: each referrer (and each cosign `.sig` manifest) is judged once, when it
 * arrives or its subject does, with the attest area's checks (signature by a key of the trusted signer set, about
 * its subject), and the verdict is stored beside it, with the signer's key id. Only verified evidence feeds claims,
 * summaries and what GraphQL lists as attestations; the rest is listed as unverified attachments. A key that
 * leaves the set (a revoked worker) takes what it signed with it: untrustSigner.
 */
import { MediaType } from '../../schema/media-types.ts';
import { checkCosignSignature, checkEvidence, type EvidenceSubject } from '../attest/evidence-check.ts';
import { outputFiles, parseCanonicalJson, parseImageManifest, readSmallBlob } from '../attest/oci-read.ts';
import type { Db } from '../db/connect.ts';
import type { OciTarget } from '../oci/target.ts';

/**
 * Where the index gets the keys it trusts, asked at each judgement: the attest area's signer set (PEMs, the
 * platform key first; empty: nothing verifies).
 */
export type TrustedKey = () => Promise<string[]>;

/** The verdict columns of a lineage_manifests row. */
export interface TrustColumns {
  verified: number;
  evidence_kind: string;
  signer_key_id: string | null;
  signer_hint: string | null;
  trust_reason: string | null;
}

const SIG_TAG = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})\.sig$/;
/** The manifest digest a cosign `.sig` tag names, or undefined for any other tag. */
export function sigTagSubject(tag: string | undefined): string | undefined {
  const m = tag ? SIG_TAG.exec(tag) : null;
  return m ? `${m[1]}:${m[2]}` : undefined;
}

/** The manifest evidence must be about, from the registry; undefined when it is not there (yet). */
async function subjectOf(store: OciTarget, repo: string, digest: string): Promise<EvidenceSubject | undefined> {
  const got = await store.getManifest(repo, digest, { verify: false }).catch(() => undefined);
  if (!got) return undefined;
  const p = parseImageManifest(got.bytes);
  return {
    digest,
    mediaType: (p.ok ? p.manifest.mediaType : undefined) ?? got.mediaType,
    size: got.bytes.byteLength,
    files: p.ok ? outputFiles(p.manifest.layers) : {},
  };
}

export async function judgeReferrer(
  store: OciTarget,
  repo: string,
  digest: string,
  subjectDigest: string,
  key: TrustedKey,
): Promise<TrustColumns> {
  const subject = await subjectOf(store, repo, subjectDigest);
  if (!subject)
    return {
      verified: 0,
      evidence_kind: 'other',
      signer_key_id: null,
      signer_hint: null,
      trust_reason: `its subject ${subjectDigest} is not in ${repo}`,
    };
  const v = await checkEvidence(store, repo, subject, digest, await key());
  return {
    verified: v.verified ? 1 : 0,
    evidence_kind: v.kind,
    signer_key_id: v.signerKeyId,
    signer_hint: v.signerHint,
    trust_reason: v.verified ? null : (v.reason ?? 'does not verify'),
  };
}

/** The verdict of the `.sig` manifest the tag `tag` now names (the cosign signature of the manifest it names). */
export async function judgeSignature(
  store: OciTarget,
  repo: string,
  tag: string,
  key: TrustedKey,
): Promise<TrustColumns> {
  const v = await checkCosignSignature(store, repo, sigTagSubject(tag) ?? '', await key());
  return {
    verified: v.verified ? 1 : 0,
    evidence_kind: 'cosign-signature',
    signer_key_id: v.signerKeyId,
    signer_hint: null,
    trust_reason: v.verified ? null : (v.reason ?? 'does not verify'),
  };
}

/** Re-judges what was judged before its subject arrived: the referrers of `digest` and its `.sig` manifest. */
export async function rejudgeEvidenceOf(
  db: Db,
  store: OciTarget,
  repo: string,
  digest: string,
  key: TrustedKey,
): Promise<void> {
  const refs = await db
    .selectFrom('lineage_manifests')
    .select('digest')
    .where('repo', '=', repo)
    .where('subject_digest', '=', digest)
    .execute();
  for (const r of refs) {
    const t = await judgeReferrer(store, repo, r.digest, digest, key);
    await db.updateTable('lineage_manifests').set(t).where('repo', '=', repo).where('digest', '=', r.digest).execute();
  }
  const sigTag = `${digest.replace(':', '-')}.sig`;
  const sig = await db
    .selectFrom('lineage_tags')
    .select('digest')
    .where('repo', '=', repo)
    .where('tag', '=', sigTag)
    .executeTakeFirst();
  if (sig) {
    const t = await judgeSignature(store, repo, sigTag, key);
    await db
      .updateTable('lineage_manifests')
      .set(t)
      .where('repo', '=', repo)
      .where('digest', '=', sig.digest)
      .execute();
  }
}

/**
 * A signer left the trusted set (a worker revoked): every row it verified becomes unverified, with `reason`, so
 * GraphQL, the dashboard and the claims stop showing it as fact. Returns the model versions (repo, digest) whose
 * evidence changed, for the caller to recompute (LineageIndexer.untrustSigner). signer_key_id is cleared, as for
 * anything that does not verify; the key id stays in the reason.
 */
export async function untrustSigner(
  db: Db,
  keyId: string,
  reason: string,
): Promise<{ repo: string; digest: string }[]> {
  const rows = await db
    .selectFrom('lineage_manifests')
    .select(['repo', 'digest', 'subject_digest'])
    .where('signer_key_id', '=', keyId)
    .execute();
  if (rows.length === 0) return [];
  await db
    .updateTable('lineage_manifests')
    .set({
      verified: 0,
      signer_key_id: null,
      trust_reason: `signed by key ${keyId}, no longer a trusted signer: ${reason}`,
    })
    .where('signer_key_id', '=', keyId)
    .execute();
  // A referrer names its version as subject; a cosign `.sig` manifest through its tag.
  const versions: { repo: string; digest: string }[] = [];
  for (const r of rows) {
    if (r.subject_digest) {
      versions.push({ repo: r.repo, digest: r.subject_digest });
      continue;
    }
    const tags = await db
      .selectFrom('lineage_tags')
      .select('tag')
      .where('repo', '=', r.repo)
      .where('digest', '=', r.digest)
      .execute();
    for (const t of tags) {
      const d = sigTagSubject(t.tag);
      if (d) versions.push({ repo: r.repo, digest: d });
    }
  }
  return [...new Map(versions.map((v) => [`${v.repo}@${v.digest}`, v])).values()];
}

/** Upper bound of an AIBoM read whole (as the verifier's evidence cap). */
const MAX_AIBOM = 16 << 20;

/**
 * The AIBoM document of a version that verified: of its verified AIBoM referrers, the first by digest (several
 * can only be the same signed document attached more than once). Undefined when none verified.
 */
export async function verifiedAibom(
  db: Db,
  store: OciTarget,
  repo: string,
  digest: string,
): Promise<{ referrer: string; doc: unknown } | undefined> {
  for await (const r of verifiedEvidenceLayers(db, store, repo, digest, 'aibom', MediaType.cyclonedxJson, MAX_AIBOM)) {
    const doc = parseCanonicalJson(r.bytes);
    if (doc.ok) return { referrer: r.referrer, doc: doc.value };
  }
  return undefined;
}

/**
 * The layer bytes of a version's verified referrers of one evidence kind, in digest order: only layers of
 * `mediaType`, read digest-checked (the bytes are the ones that verified), at most `max` bytes each.
 */
export async function* verifiedEvidenceLayers(
  db: Db,
  store: OciTarget,
  repo: string,
  digest: string,
  kind: string,
  mediaType: string,
  max: number,
): AsyncGenerator<{ referrer: string; bytes: Uint8Array }> {
  const rows = await db
    .selectFrom('lineage_manifests as m')
    .innerJoin('lineage_layers as l', (j) => j.onRef('l.repo', '=', 'm.repo').onRef('l.digest', '=', 'm.digest'))
    .select(['m.digest', 'l.layer_digest', 'l.media_type'])
    .where('m.repo', '=', repo)
    .where('m.subject_digest', '=', digest)
    .where('m.evidence_kind', '=', kind)
    .where('m.verified', '=', 1)
    .orderBy('m.digest')
    .execute();
  for (const r of rows) {
    if (r.media_type !== mediaType) continue;
    const size = await store.blobSize(repo, r.layer_digest).catch(() => null);
    if (size === null) continue;
    const b = await readSmallBlob(store, repo, { digest: r.layer_digest, size }, max);
    if (b.ok) yield { referrer: r.digest, bytes: b.bytes };
  }
}
