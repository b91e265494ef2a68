/**
 * What a publication cut off by a crash (kill -9 in `attesting` or `publishing`) left in the registry, and the one
 * rule applied to it at the next start:
 *
 * - The publisher pushes the version tag last. A model manifest of the job that a non-evidence tag points at, and
 *   that verifies, is a complete publication: it is kept, and the job ends `succeeded` with the publication read
 *   back from the registry (only the bookkeeping after the tag was cut off).
 * - Anything else the job pushed to the trusted namespace — its model manifest(s), found by the job-id annotation,
 *   with their referrers, cosign `.sig` and `sha256-<hex>` fallback tags (the registry's delete cascade) — is
 *   removed, and the job is then failed "interrupted" or re-queued (recovery.ts), i.e. republished from scratch.
 *
 * The job's input artifacts (datasets/…, base-models/…) are content-addressed and may be shared by digest with
 * other publications, so only the job's own tag on them is removed, never the manifest.
 */
import { Annotation, MediaType } from '../../schema/media-types.ts';
import { repoName } from '../attest/model-names.ts';
import type { AttestationRef, ModelVerifier, Publication } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { OciTarget } from '../oci/target.ts';
import { crashPoint } from '../ops/crash-point.ts';
import type { JobQueue } from './queue.ts';

export interface PublicationRecoveryDeps {
  db: Db;
  /** The registry acting as the platform. */
  registry: OciTarget;
  verifier: ModelVerifier;
  /** Where models are published (the trusted namespace, e.g. `models`). */
  namespace: string;
  /** Registry host:port printed in references (as the publisher prints them). */
  registryHost: () => string;
}

/** Tags under which evidence of a manifest is kept (cascade.ts): never a version tag. */
const EVIDENCE_TAG = /^sha(256|512)-[a-f0-9]+(\.(sig|att|sbom))?$/;
const PREDICATE_KIND: Record<string, AttestationRef['kind']> = {
  'https://cyclonedx.org/bom': 'aibom-signature',
  'https://slsa.dev/provenance/v1': 'slsa-provenance',
  'https://model_signing/signature/v1.0': 'model-signature',
};

/** The model manifests in the trusted namespace that name `jobId` in their job annotation. */
async function jobManifests(d: PublicationRecoveryDeps, jobId: string): Promise<{ repo: string; digest: string }[]> {
  const rows = await d.db
    .selectFrom('registry_manifests')
    .select(['repo', 'digest', 'annotations_json'])
    .where('repo', 'like', `${d.namespace}/%`)
    .where('annotations_json', 'like', `%${JSON.stringify(jobId)}%`)
    .execute();
  return rows.filter((r) => {
    const a = JSON.parse(r.annotations_json ?? '{}') as Record<string, string>;
    return a[Annotation.job] === jobId;
  });
}

/** The version tags (evidence tags aside) of `repo` that point at `digest`. */
async function versionTags(reg: OciTarget, repo: string, digest: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of await reg.tags(repo)) {
    if (EVIDENCE_TAG.test(t)) continue;
    if ((await reg.getManifest(repo, t))?.digest === digest) out.push(t);
  }
  return out;
}

/** The publication as the publisher would have returned it, read back from the registry. */
async function readBack(
  d: PublicationRecoveryDeps,
  queue: JobQueue,
  jobId: string,
  m: { repo: string; digest: string; tag: string },
): Promise<Publication> {
  const reg = d.registry;
  const attestations: AttestationRef[] = (await reg.referrers(m.repo, m.digest)).map((r) => {
    const predicate = r.annotations?.['dev.sigstore.bundle.predicateType'];
    const kind: AttestationRef['kind'] =
      r.artifactType === MediaType.inTotoLink
        ? 'in-toto-link'
        : r.artifactType === MediaType.cyclonedxJson
          ? 'aibom'
          : ((predicate ? PREDICATE_KIND[predicate] : undefined) ?? 'other');
    return {
      kind,
      mediaType: r.mediaType,
      digest: r.digest,
      ...(r.artifactType ? { artifactType: r.artifactType } : {}),
    };
  });
  const sig = await reg.getManifest(m.repo, `${m.digest.replace(':', '-')}.sig`);
  if (sig) attestations.push({ kind: 'cosign-signature', mediaType: sig.mediaType, digest: sig.digest });
  const inputs: Publication['inputs'] = [];
  for (const f of await queue.inputs(jobId)) {
    if (f.role !== 'dataset' && f.role !== 'dataset_definition' && f.role !== 'model') continue;
    const repository = `${f.role === 'model' ? 'base-models' : 'datasets'}/${repoName(f.name)}`;
    const got = await reg.getManifest(repository, jobId);
    if (got) inputs.push({ role: f.role, repository, digest: got.digest });
  }
  return {
    ref: `${d.registryHost()}/${m.repo}:${m.tag}`,
    repository: m.repo,
    tag: m.tag,
    digest: m.digest,
    inputs,
    attestations,
  };
}

/**
 * Applies the rule above to one interrupted job: resolves to the publication when it was complete (kept), else
 * removes what the job pushed and resolves to undefined.
 */
export async function recoverPublication(
  d: PublicationRecoveryDeps,
  queue: JobQueue,
  jobId: string,
): Promise<Publication | undefined> {
  let kept: Publication | undefined;
  for (const m of await jobManifests(d, jobId)) {
    const [tag] = kept ? [] : await versionTags(d.registry, m.repo, m.digest);
    if (tag) {
      const report = await d.verifier.verify(`${m.repo}@${m.digest}`);
      if (report.verified) {
        kept = await readBack(d, queue, jobId, { ...m, tag });
        continue;
      }
    }
    // Takes its referrers, cosign and fallback tags and, in the rare case above, a tag on a model that fails.
    await d.registry.deleteManifest(m.repo, m.digest);
    crashPoint('recovery:publication-removed');
  }
  if (!kept) await dropInputTags(d.registry, queue, jobId);
  return kept;
}

/** The job's own tags on its input artifacts (the manifests stay: other publications may name them). */
async function dropInputTags(reg: OciTarget, queue: JobQueue, jobId: string): Promise<void> {
  for (const f of await queue.inputs(jobId)) {
    if (f.role !== 'dataset' && f.role !== 'dataset_definition' && f.role !== 'model') continue;
    const repository = `${f.role === 'model' ? 'base-models' : 'datasets'}/${repoName(f.name)}`;
    if (await reg.getManifest(repository, jobId)) await reg.deleteManifest(repository, jobId);
  }
}
