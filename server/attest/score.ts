/**
 * AIBoM completeness: a documented rubric over the CycloneDX AIBoM the platform writes, in the spirit of OWASP's
 * AIBOM completeness tiers (critical / important / supplementary). Each field has a category and a tier; a tier's
 * weight is what the field counts for (required 3, recommended 2, optional 1). The score is the weight of the
 * fields present over the weight of all fields, 0–100, rounded down (100 only when nothing is missing).
 *
 * | category   | required                                   | recommended                          | optional               |
 * |------------|--------------------------------------------|--------------------------------------|------------------------|
 * | model card | name, version, license                     | author, description, task,           | use cases, limitations,|
 * |            |                                            | architecture, performance metrics    | ethical considerations |
 * | datasets   | ≥1 dataset named by the model card,        | each dataset published (pkg:oci purl)|                        |
 * |            | each with a SHA-256                        |                                      |                        |
 * | environment| platform environment (OS, CPU, runtime)    | library versions                     | trainer image by digest|
 * | parameters | hyperparameters                            | the command that ran                 |                        |
 * | provenance | model manifest digest (purl), start/end    | the model's files by hash            |                        |
 * |            | times, in-toto link by hash                |                                      |                        |
 * | signatures | OpenSSF model signature root digest        |                                      |                        |
 *
 * The document's own JSF signature is not scored: it is added after the score (which is stored in the document)
 * and an unsigned AIBoM does not count at all. Pure and total: any input gives a score, never an exception.
 */
import {
  type AibomScore,
  type MissingField,
  RUBRIC_PROPERTY,
  SCORE_PROPERTY,
  type ScoreCategory,
  type ScoreTier,
} from '../../schema/aibom-score.ts';

export const RUBRIC = 'aibomgen-completeness/v1';
export const TIER_WEIGHT: Record<ScoreTier, number> = { required: 3, recommended: 2, optional: 1 };

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): boolean => typeof v === 'string' && v.trim() !== '';
const props = (v: unknown): { name: string; value: unknown }[] =>
  arr(v).flatMap((p) =>
    typeof obj(p).name === 'string' ? [{ name: obj(p).name as string, value: obj(p).value }] : [],
  );
const hasSha256 = (c: Obj): boolean =>
  arr(c.hashes).some((h) => obj(h).alg === 'SHA-256' && /^[0-9a-f]{64}$/.test(String(obj(h).content)));

/** The parts of the AIBoM the rubric reads. */
interface View {
  model: Obj;
  card: Obj;
  components: Obj[];
  datasets: Obj[];
  workflow: Obj;
}

function view(doc: unknown): View {
  const d = obj(doc);
  const model = obj(obj(d.metadata).component);
  const components = arr(d.components).map(obj);
  return {
    model,
    card: obj(model.modelCard),
    components,
    datasets: components.filter((c) => c.type === 'data'),
    workflow: obj(arr(obj(arr(d.formulation)[0]).workflows)[0]),
  };
}

interface Field {
  field: string;
  category: ScoreCategory;
  tier: ScoreTier;
  present: (v: View) => boolean;
}

const wfProps = (v: View, prefix: string) => props(v.workflow.properties).filter((p) => p.name.startsWith(prefix));
const modelProp = (v: View, name: string) => props(v.model.properties).find((p) => p.name === name);

/** The rubric, in the order missing fields are reported within a tier. */
export const FIELDS: readonly Field[] = [
  { field: 'model name', category: 'model card', tier: 'required', present: (v) => str(v.model.name) },
  { field: 'model version', category: 'model card', tier: 'required', present: (v) => str(v.model.version) },
  {
    field: 'license',
    category: 'model card',
    tier: 'required',
    present: (v) => arr(v.model.licenses).some((l) => str(obj(obj(l).license).name) || str(obj(obj(l).license).id)),
  },
  {
    field: 'datasets',
    category: 'datasets',
    tier: 'required',
    present: (v) => v.datasets.length > 0 && arr(obj(v.card.modelParameters).datasets).length > 0,
  },
  {
    field: 'dataset hashes',
    category: 'datasets',
    tier: 'required',
    present: (v) => v.datasets.length > 0 && v.datasets.every(hasSha256),
  },
  {
    field: 'platform environment',
    category: 'environment',
    tier: 'required',
    present: (v) => wfProps(v, 'aibomgen:env:').length > 0,
  },
  {
    field: 'hyperparameters',
    category: 'parameters',
    tier: 'required',
    present: (v) => wfProps(v, 'aibomgen:param:').length > 0,
  },
  {
    field: 'model digest',
    category: 'provenance',
    tier: 'required',
    present: (v) => /^pkg:oci\/[^@]+@sha256(:|%3A)[0-9a-f]{64}/.test(String(v.model.purl)),
  },
  {
    field: 'training times',
    category: 'provenance',
    tier: 'required',
    present: (v) => str(v.workflow.timeStart) && str(v.workflow.timeEnd),
  },
  {
    field: 'in-toto link',
    category: 'provenance',
    tier: 'required',
    present: (v) => arr(v.model.externalReferences).some((r) => obj(r).type === 'attestation' && hasSha256(obj(r))),
  },
  {
    field: 'model signature',
    category: 'signatures',
    tier: 'required',
    present: (v) => /^sha256:[0-9a-f]{64}$/.test(String(modelProp(v, 'aibomgen:model-signature:root-digest')?.value)),
  },
  { field: 'author', category: 'model card', tier: 'recommended', present: (v) => str(v.model.author) },
  { field: 'description', category: 'model card', tier: 'recommended', present: (v) => str(v.model.description) },
  {
    field: 'task',
    category: 'model card',
    tier: 'recommended',
    present: (v) => str(obj(v.card.modelParameters).task),
  },
  {
    field: 'architecture',
    category: 'model card',
    tier: 'recommended',
    present: (v) => str(obj(v.card.modelParameters).architectureFamily),
  },
  {
    field: 'performance metrics',
    category: 'model card',
    tier: 'recommended',
    present: (v) => arr(obj(v.card.quantitativeAnalysis).performanceMetrics).length > 0,
  },
  {
    field: 'published datasets',
    category: 'datasets',
    tier: 'recommended',
    present: (v) => v.datasets.length > 0 && v.datasets.every((c) => String(c.purl).startsWith('pkg:oci/')),
  },
  {
    field: 'library versions',
    category: 'environment',
    tier: 'recommended',
    present: (v) => v.components.some((c) => c.type === 'library' && str(c.version) && c.version !== 'unknown'),
  },
  {
    field: 'command',
    category: 'parameters',
    tier: 'recommended',
    present: (v) => wfProps(v, 'aibomgen:command').some((p) => str(p.value)),
  },
  {
    field: 'model files',
    category: 'provenance',
    tier: 'recommended',
    present: (v) => props(v.model.properties).some((p) => p.name.startsWith('aibomgen:product:')),
  },
  {
    field: 'use cases',
    category: 'model card',
    tier: 'optional',
    present: (v) => arr(obj(v.card.considerations).useCases).length > 0,
  },
  {
    field: 'limitations',
    category: 'model card',
    tier: 'optional',
    present: (v) => arr(obj(v.card.considerations).technicalLimitations).length > 0,
  },
  {
    field: 'ethical considerations',
    category: 'model card',
    tier: 'optional',
    present: (v) => arr(obj(v.card.considerations).ethicalConsiderations).length > 0,
  },
  {
    field: 'trainer image digest',
    category: 'environment',
    tier: 'optional',
    present: (v) => v.components.some((c) => c.type === 'container' && hasSha256(c)),
  },
];

/** Scores an AIBoM with the rubric above. */
export function scoreAibom(doc: unknown): AibomScore {
  const v = view(doc);
  let total = 0;
  let got = 0;
  const missing: MissingField[] = [];
  for (const f of FIELDS) {
    total += TIER_WEIGHT[f.tier];
    let ok = false;
    try {
      ok = f.present(v);
    } catch {
      ok = false;
    }
    if (ok) got += TIER_WEIGHT[f.tier];
    else missing.push({ field: f.field, category: f.category, tier: f.tier });
  }
  return { score: Math.floor((100 * got) / total), rubric: RUBRIC, missing };
}

/** The score the AIBoM stores about itself (metadata.properties), if any. */
export function storedScore(doc: unknown): number | undefined {
  const p = props(obj(obj(doc).metadata).properties).find((x) => x.name === SCORE_PROPERTY);
  const n = typeof p?.value === 'string' && /^\d{1,3}$/.test(p.value) ? Number(p.value) : undefined;
  return n !== undefined && n <= 100 ? n : undefined;
}

/** Stores the score in the (unsigned) AIBoM's metadata.properties; the rubric does not read them. */
export function withScore<T extends Obj>(doc: T, s: AibomScore): T {
  const metadata = obj(doc.metadata);
  const kept = arr(metadata.properties).filter((p) => ![SCORE_PROPERTY, RUBRIC_PROPERTY].includes(String(obj(p).name)));
  return {
    ...doc,
    metadata: {
      ...metadata,
      properties: [
        ...kept,
        { name: SCORE_PROPERTY, value: String(s.score) },
        { name: RUBRIC_PROPERTY, value: s.rubric },
      ],
    },
  };
}

/** "license (required), description (recommended)": the missing fields as one line, for reasons. */
export function missingLine(s: AibomScore): string {
  return s.missing.map((m) => `${m.field} (${m.tier}, ${m.category})`).join(', ') || 'nothing';
}
