import { scoreAibom } from '../../attest/score.ts';
import type { AibomSummary } from '../../lineage/claims.ts';
import type { VersionRow } from '../../lineage/queries.ts';
import type { VersionSummary } from '../../lineage/traverse.ts';
import type { GqlContext } from '../context.ts';
import { jobParent, parseJson, type AliasParent, type JobParent, type ModelParent } from './views.ts';

type Ctx = GqlContext;
/** A ModelVersion resolves from a full row or, where thousands are listed (impact), from a summary. */
type Version = VersionRow | VersionSummary;
type Document = 'metrics_json' | 'annotations_json' | 'aibom_json';

/** One of the version's JSON documents: on the row, or loaded (batched) when the parent is a summary. */
function document(v: Version, key: Document, ctx: Ctx): string | null | Promise<string | null> {
  if (key in v) return (v as VersionRow)[key];
  return ctx.loaders.version.load(v.id).then((full) => full?.[key] ?? null);
}
const then = <T, U>(x: T | Promise<T>, f: (t: T) => U): U | Promise<U> => (x instanceof Promise ? x.then(f) : f(x));

export const ModelVersion = {
  ref: (v: Version) => (v.primary_tag ? `${v.repo}:${v.primary_tag}` : `${v.repo}@${v.digest}`),
  repository: (v: Version) => v.repo,
  tag: (v: Version) => v.primary_tag,
  tags: async (v: Version, _: unknown, ctx: Ctx) =>
    (await ctx.loaders.tagsOfRepo.load(v.repo)).filter((t) => t.digest === v.digest).map((t) => t.tag),
  metrics: (v: Version, _: unknown, ctx: Ctx) => then(document(v, 'metrics_json', ctx), parseJson),
  annotations: (v: Version, _: unknown, ctx: Ctx) => then(document(v, 'annotations_json', ctx), parseJson),
  aibom: (v: Version, _: unknown, ctx: Ctx) =>
    then(document(v, 'aibom_json', ctx), (text) => {
      const a = parseJson(text) as AibomSummary | null;
      return a ? { ...a, datasets: a.datasets ?? [], baseModels: a.baseModels ?? [] } : null;
    }),
  /** Evidence that verified with the platform key and is about this version (the only evidence shown as fact). */
  attestations: async (v: Version, _: unknown, ctx: Ctx) => (await ctx.loaders.evidence.load(v)).attestations,
  /** Everything else attached: listed with the signer it claims, marked unverified, its content never shown. */
  unverifiedAttachments: async (v: Version, _: unknown, ctx: Ctx) => (await ctx.loaders.evidence.load(v)).unverified,
  /** The AIBoM document itself, when one verified (as the caller reads the registry). */
  aibomDocument: (v: Version, _: unknown, ctx: Ctx) => ctx.loaders.aibomDocument.load(v),
  /** The SPDX 3.0.1 export, from the verified signed statement (as the caller reads the registry). */
  spdxDocument: (v: Version, _: unknown, ctx: Ctx) => ctx.loaders.spdxDocument.load(v),
  /** Scored from the verified AIBoM only (the same document aibomDocument answers). */
  completeness: async (v: Version, _: unknown, ctx: Ctx) => {
    const doc = await ctx.loaders.aibomDocument.load(v);
    return doc ? scoreAibom(doc) : null;
  },
  verification: async (v: Version, _: unknown, ctx: Ctx) => {
    const report = await ctx.loaders.verification.load(`${v.repo}@${v.digest}`);
    await ctx.index?.recordVerification(v.repo, v.digest, report.verified);
    return report;
  },
  job: async (v: Version, _: unknown, ctx: Ctx) => {
    if (!v.job_id) return null;
    const j = await ctx.loaders.job.load(v.job_id);
    return j ? jobParent(j) : null;
  },
};

export const Model = {
  versions: (m: ModelParent, _: unknown, ctx: Ctx) => ctx.loaders.versionsOfRepo.load(m.name),
  latest: async (m: ModelParent, _: unknown, ctx: Ctx) => (await ctx.loaders.versionsOfRepo.load(m.name))[0] ?? null,
  /** Every tag on a version that is not the tag it was pushed under. */
  aliases: async (m: ModelParent, _: unknown, ctx: Ctx): Promise<AliasParent[]> => {
    const [tags, versions] = await Promise.all([
      ctx.loaders.tagsOfRepo.load(m.name),
      ctx.loaders.versionsOfRepo.load(m.name),
    ]);
    const byDigest = new Map(versions.map((v) => [v.digest, v]));
    return tags.flatMap((t) => {
      const version = byDigest.get(t.digest);
      return version && version.primary_tag !== t.tag ? [{ name: t.tag, version }] : [];
    });
  },
};

export const TrainingJob = {
  modelVersion: (j: JobParent, _: unknown, ctx: Ctx) => (j.versionId ? ctx.loaders.version.load(j.versionId) : null),
};
