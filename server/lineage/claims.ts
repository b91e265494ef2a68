import { Annotation } from '../../schema/media-types.ts';
import type { Publication } from '../contracts.ts';
import { parseDigestRef, stripHost } from './manifest.ts';

/** What a model version's evidence says it came from; resolved into edges by `edges.ts`. */
export interface Claim {
  kind: 'dataset' | 'base-model' | 'job' | 'image';
  repo?: string;
  digest?: string;
  value: string;
  origin: 'annotation' | 'aibom' | 'publication';
}

/** The AIBoM facts the graph and `ModelVersion.aibom` show. */
export interface AibomSummary {
  serialNumber?: string;
  name?: string;
  version?: string;
  author?: string;
  license?: string;
  task?: string;
  framework?: string;
  datasets: string[];
  baseModels: string[];
  trainerImage?: string;
  isolated?: boolean;
  components: number;
  jobId?: string;
  metrics?: Record<string, number | string>;
}

function digestClaim(kind: Claim['kind'], value: string, origin: Claim['origin']): Claim | undefined {
  const r = parseDigestRef(value);
  return r ? { kind, ...r, value: value.trim(), origin } : undefined;
}

/** Lineage annotations (the publisher's `io.aibomgen.*`, and the OCI base image pair for plain `oras push`). */
export function annotationClaims(a: Record<string, string> | undefined): Claim[] {
  if (!a) return [];
  const out: Claim[] = [];
  const push = (c: Claim | undefined): void => {
    if (c) out.push(c);
  };
  if (a[Annotation.baseModel]) push(digestClaim('base-model', a[Annotation.baseModel]!, 'annotation'));
  for (const d of (a[Annotation.dataset] ?? '').split(',').filter((x) => x.trim()))
    push(digestClaim('dataset', d, 'annotation'));
  if (a[Annotation.job]) out.push({ kind: 'job', value: a[Annotation.job]!, origin: 'annotation' });
  if (a[Annotation.trainerImage]) out.push(imageClaim(a[Annotation.trainerImage]!, 'annotation'));
  const baseDigest = a[Annotation.baseDigest];
  if (baseDigest && !a[Annotation.baseModel]) {
    const name = a[Annotation.baseName];
    push(digestClaim('base-model', name ? `${name}@${baseDigest}` : baseDigest, 'annotation'));
  }
  return out;
}

function imageClaim(value: string, origin: Claim['origin']): Claim {
  const r = parseDigestRef(value);
  return { kind: 'image', ...(r ? { digest: r.digest } : {}), repo: stripHost(value.split('@')[0]!), value, origin };
}

/** What `job.published` says about the version it published. */
export function publicationClaims(jobId: string, p: Publication): Claim[] {
  const out: Claim[] = [{ kind: 'job', value: jobId, origin: 'publication' }];
  for (const i of p.inputs) {
    // The dataset definition (columns, shapes) describes the dataset; it is an input of the job and in the
    // AIBoM, but no model was trained on it: it is not a lineage dataset.
    const kind = i.role === 'model' ? 'base-model' : i.role === 'dataset' ? 'dataset' : undefined;
    if (kind)
      out.push({
        kind,
        repo: i.repository,
        digest: i.digest,
        value: `${i.repository}@${i.digest}`,
        origin: 'publication',
      });
  }
  return out;
}

interface CdxComponent {
  type?: string;
  name?: string;
  version?: string;
  purl?: string;
  author?: string;
  hashes?: { alg?: string; content?: string }[];
  licenses?: { license?: { id?: string; name?: string }; expression?: string }[];
  properties?: { name?: string; value?: string }[];
  modelCard?: {
    modelParameters?: { task?: string; architectureFamily?: string };
    quantitativeAnalysis?: { performanceMetrics?: { type?: string; value?: string }[] };
  };
}
interface CdxBom {
  serialNumber?: string;
  metadata?: { component?: CdxComponent };
  components?: CdxComponent[];
  formulation?: { workflows?: { uid?: string; properties?: { name?: string; value?: string }[] }[] }[];
}

/** `pkg:oci/name@sha256%3A…?repository_url=models%2Fx` → repo + digest. */
function fromPurl(purl: string): { repo?: string; digest: string } | undefined {
  const m = /^pkg:oci\/([^@?]+)@([^?#]+)(?:\?(.*))?$/.exec(purl);
  if (!m) return undefined;
  const digest = decodeURIComponent(m[2]!);
  if (!/^sha(256|512):[a-f0-9]+$/.test(digest)) return undefined;
  const repoUrl = new URLSearchParams(m[3] ?? '').get('repository_url');
  return repoUrl ? { repo: stripHost(repoUrl), digest } : { digest };
}

/**
 * Our AIBoM lists every input of a job as a component with an `aibomgen:role` (dataset, dataset_definition,
 * params, model); only `dataset` is data a model was trained on. A data component without that property
 * (an AIBoM another tool wrote) counts as a dataset.
 */
function isTrainingData(c: CdxComponent): boolean {
  const role = (c.properties ?? []).find((p) => p.name === 'aibomgen:role')?.value;
  return role === undefined || role === 'dataset';
}

function sha256Of(c: CdxComponent): string | undefined {
  const h = c.hashes?.find((x) => (x.alg ?? '').toUpperCase() === 'SHA-256' && /^[a-f0-9]{64}$/.test(x.content ?? ''));
  return h ? `sha256:${h.content}` : undefined;
}

function refOf(c: CdxComponent): { repo?: string; digest: string } | undefined {
  return (c.purl ? fromPurl(c.purl) : undefined) ?? (sha256Of(c) ? { digest: sha256Of(c)! } : undefined);
}

function licenseOf(c: CdxComponent | undefined): string | undefined {
  const l = c?.licenses?.[0];
  return l?.license?.id ?? l?.license?.name ?? l?.expression;
}

/** Claims and a summary from a CycloneDX AIBoM (ours, or any CycloneDX ML-BOM pushed as a referrer). */
export function aibomFacts(doc: unknown): { claims: Claim[]; summary: AibomSummary } | undefined {
  if (!doc || typeof doc !== 'object') return undefined;
  const bom = doc as CdxBom;
  const claims: Claim[] = [];
  const datasets: string[] = [];
  const baseModels: string[] = [];
  let trainerImage: string | undefined;
  for (const c of bom.components ?? []) {
    const r = refOf(c);
    const label = r ? (r.repo ? `${r.repo}@${r.digest}` : r.digest) : (c.name ?? '');
    if (c.type === 'data' && r && isTrainingData(c)) {
      datasets.push(label);
      claims.push({ kind: 'dataset', ...r, value: label, origin: 'aibom' });
    } else if (c.type === 'machine-learning-model' && r) {
      baseModels.push(label);
      claims.push({ kind: 'base-model', ...r, value: label, origin: 'aibom' });
    } else if (c.type === 'container' && c.name) {
      const d = sha256Of(c);
      trainerImage = d ? `${c.name}@${d}` : c.name;
      claims.push(imageClaim(trainerImage, 'aibom'));
    }
  }
  const wf = bom.formulation?.[0]?.workflows?.[0];
  if (wf?.uid) claims.push({ kind: 'job', value: wf.uid, origin: 'aibom' });
  const isolated = wf?.properties?.find((p) => p.name === 'aibomgen:env:isolated')?.value;
  const mc = bom.metadata?.component;
  const metrics: Record<string, number | string> = {};
  for (const pm of mc?.modelCard?.quantitativeAnalysis?.performanceMetrics ?? []) {
    if (pm.type && pm.value !== undefined)
      metrics[pm.type] = Number.isFinite(Number(pm.value)) ? Number(pm.value) : pm.value;
  }
  const summary: AibomSummary = {
    ...(bom.serialNumber ? { serialNumber: bom.serialNumber } : {}),
    ...(mc?.name ? { name: mc.name } : {}),
    ...(mc?.version ? { version: mc.version } : {}),
    ...(mc?.author ? { author: mc.author } : {}),
    ...(licenseOf(mc) ? { license: licenseOf(mc) } : {}),
    ...(mc?.modelCard?.modelParameters?.task ? { task: mc.modelCard.modelParameters.task } : {}),
    ...(mc?.modelCard?.modelParameters?.architectureFamily
      ? { framework: mc.modelCard.modelParameters.architectureFamily }
      : {}),
    datasets,
    baseModels,
    ...(trainerImage ? { trainerImage } : {}),
    ...(isolated !== undefined ? { isolated: isolated === 'true' } : {}),
    components: (bom.components ?? []).length,
    ...(wf?.uid ? { jobId: wf.uid } : {}),
    ...(Object.keys(metrics).length ? { metrics } : {}),
  };
  return { claims, summary };
}
