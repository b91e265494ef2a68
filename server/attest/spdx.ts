/**
 * SPDX 3.0.1 export of a training job (JSON-LD, profiles core, software, ai, dataset, build): the same facts as the
 * CycloneDX AIBoM, from the same inputs — the model (an ai_AIPackage named by its OCI manifest digest), every input
 * dataset (dataset_DatasetPackage with the file's SHA-256), base models, the trainer image and libraries, the
 * hyperparameters, metrics and platform environment, and the relationships between them (trainedOn, ancestorOf,
 * dependsOn, a build_Build with hasInput/hasOutput). Signed as a DSSE statement like the other evidence.
 */
import type { AibomInput, BomJson } from './aibom.ts';

/** By analogy with in-toto's SPDX predicate (`https://spdx.dev/Document/v2.3`): the SPDX version it carries. */
export const PREDICATE_SPDX_3 = 'https://spdx.dev/Document/v3.0.1';
export const SPDX_CONTEXT = 'https://spdx.org/rdf/3.0.1/spdx-context.jsonld';
export const SPDX_FILE = 'model.spdx3.json';

type Node = Record<string, unknown>;

/** SPDX DateTime: seconds precision, UTC, `Z` (the schema refuses fractions of a second). */
export function spdxTime(iso: string): string {
  const d = new Date(iso);
  return (Number.isNaN(d.getTime()) ? new Date(0) : d).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const hash = (hex: string): Node => ({ type: 'Hash', algorithm: 'sha256', hashValue: hex.replace(/^sha256:/, '') });
const entry = (key: string, value: string): Node => ({ type: 'DictionaryEntry', key, value });

function ociPurl(repository: string, digest: string): string {
  const name = repository.split('/').pop() ?? repository;
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repository)}`;
}

/** Builds the SPDX 3.0.1 document; `bom` is the job's AIBoM (its library components are the same here). */
export function buildSpdx(a: AibomInput, bom: BomJson): Node {
  const { outcome: o, evidence: ev } = a;
  const md = o.metadata;
  // Element ids: one namespace per model manifest, so two documents never share an id for different things.
  const ns = `urn:aibomgen:spdx:${a.manifestDigest.replace(/^sha256:/, '')}`;
  const id = (local: string) => `${ns}:${local}`;
  const ci = '_:creationinfo';
  const created = spdxTime(o.finishedAt);
  const graph: Node[] = [];
  const el = (type: string, local: string, props: Node): string => {
    graph.push({ type, spdxId: id(local), creationInfo: ci, ...props });
    return id(local);
  };
  let rel = 0;
  const relate = (from: string, relationshipType: string, to: string[]): void => {
    if (to.length) el('Relationship', `relationship-${rel++}`, { from, relationshipType, to });
  };

  const platform = el('Organization', 'platform', { name: 'aibomgen-ts platform' });
  const tool = el('Tool', 'tool', { name: 'aibomgen-ts' });
  graph.unshift({
    type: 'CreationInfo',
    '@id': ci,
    specVersion: '3.0.1',
    created,
    createdBy: [platform],
    createdUsing: [tool],
  });

  const metrics = Object.entries(ev.metrics).filter(([, v]) => typeof v === 'number');
  const model = el('ai_AIPackage', 'model', {
    name: md.model_name ?? o.jobId,
    software_packageVersion: md.model_version ?? '0.0.0',
    ...(md.model_description ? { description: md.model_description } : {}),
    software_packageUrl: ociPurl(a.repository, a.manifestDigest),
    software_downloadLocation: ociPurl(a.repository, a.manifestDigest),
    software_primaryPurpose: 'model',
    releaseTime: created,
    builtTime: created,
    suppliedBy: platform,
    ...(md.author ? { originatedBy: [el('Person', 'author', { name: md.author })] } : {}),
    verifiedUsing: [hash(a.manifestDigest)],
    ...(md.model_type ? { ai_domain: [md.model_type] } : {}),
    ...(md.intended_use ? { ai_informationAboutApplication: md.intended_use } : {}),
    ...(md.out_of_scope ? { ai_limitation: md.out_of_scope } : {}),
    ai_typeOfModel: [o.framework],
    ai_hyperparameter: Object.entries(o.params).map(([k, v]) => entry(k, JSON.stringify(v))),
    ...(metrics.length ? { ai_metric: metrics.map(([k, v]) => entry(k, String(v))) } : {}),
    ai_informationAboutTraining: `job ${o.jobId}: ${o.runner.command.join(' ')} (exit ${o.exitCode})`,
    ...(a.modelSignatureRoot ? { comment: `OpenSSF model signature root digest sha256:${a.modelSignatureRoot}` } : {}),
  });
  if (md.license_name)
    relate(model, 'hasDeclaredLicense', [
      el('simplelicensing_LicenseExpression', 'license', { simplelicensing_licenseExpression: md.license_name }),
    ]);

  const datasets: string[] = [];
  const inputs: string[] = [];
  for (const [n, f] of o.inputs.entries()) {
    const sha = ev.materials[`inputs/${f.name}`]?.sha256 ?? '';
    const ref = a.inputRefs?.[f.name];
    const where = ref
      ? {
          software_packageUrl: ociPurl(ref.repository, ref.digest),
          software_downloadLocation: ociPurl(ref.repository, ref.digest),
        }
      : {};
    const common = { name: f.name, verifiedUsing: [hash(sha)], releaseTime: created, suppliedBy: platform, ...where };
    if (f.role === 'model') {
      const base = el('ai_AIPackage', `input-${n}`, { ...common, software_primaryPurpose: 'model' });
      relate(base, 'ancestorOf', [model]);
      inputs.push(base);
    } else {
      const ds = el('dataset_DatasetPackage', `input-${n}`, {
        ...common,
        software_primaryPurpose: 'data',
        dataset_datasetType: [f.role === 'dataset_definition' ? 'structured' : 'noAssertion'],
        ...(f.role === 'dataset_definition' ? { comment: 'the dataset definition (columns, target)' } : {}),
      });
      datasets.push(ds);
      inputs.push(ds);
    }
  }
  relate(model, 'trainedOn', datasets);

  const deps: string[] = [];
  if (o.runner.image)
    deps.push(
      el('software_Package', 'trainer-image', {
        name: o.runner.image,
        software_primaryPurpose: 'container',
        ...(o.runner.imageDigest ? { verifiedUsing: [hash(o.runner.imageDigest)] } : {}),
      }),
    );
  for (const [n, c] of (bom.components ?? []).filter((c) => c.type === 'library').entries())
    deps.push(
      el('software_Package', `library-${n}`, {
        name: String(c.name),
        ...(typeof c.version === 'string' ? { software_packageVersion: c.version } : {}),
        software_primaryPurpose: 'library',
      }),
    );
  relate(model, 'dependsOn', deps);

  const build = el('build_Build', 'build', {
    build_buildType: 'https://aibomgen.dev/training/v1',
    build_buildId: o.jobId,
    build_buildStartTime: spdxTime(o.startedAt),
    build_buildEndTime: created,
    build_parameter: Object.entries(o.params).map(([k, v]) => entry(k, JSON.stringify(v))),
    build_environment: Object.entries(ev.environment).map(([k, v]) => entry(k, v)),
  });
  relate(build, 'hasInput', inputs);
  relate(build, 'hasOutput', [model]);
  // Every element above, listed by the document that describes the model.
  const elements = graph.filter((n) => typeof n.spdxId === 'string').map((n) => n.spdxId as string);
  const doc = el('SpdxDocument', 'document', {
    name: `${md.model_name ?? o.jobId} ${md.model_version ?? ''}`.trim(),
    profileConformance: ['core', 'software', 'ai', 'dataset', 'build'],
    rootElement: [model],
    element: elements,
  });
  relate(doc, 'describes', [model]);
  return { '@context': SPDX_CONTEXT, '@graph': graph };
}

/** The SHA-256 values of the document's datasets (dataset_DatasetPackage.verifiedUsing), sorted. */
export function spdxDatasetDigests(doc: unknown): string[] {
  const graph = (doc as { '@graph'?: unknown } | null)?.['@graph'];
  if (!Array.isArray(graph)) return [];
  return graph
    .filter((n) => (n as Node | null)?.type === 'dataset_DatasetPackage')
    .flatMap((n) =>
      ((n as { verifiedUsing?: { hashValue?: unknown }[] }).verifiedUsing ?? []).map((h) => String(h?.hashValue)),
    )
    .sort();
}

/** The SHA-256 values of a CycloneDX AIBoM's data components, sorted: what the SPDX datasets must match. */
export function cdxDatasetDigests(doc: unknown): string[] {
  const comps = (doc as { components?: unknown } | null)?.components;
  if (!Array.isArray(comps)) return [];
  return comps
    .filter((c) => (c as Node | null)?.type === 'data')
    .flatMap((c) =>
      ((c as { hashes?: { alg?: unknown; content?: unknown }[] }).hashes ?? [])
        .filter((h) => h?.alg === 'SHA-256')
        .map((h) => String(h.content)),
    )
    .sort();
}
