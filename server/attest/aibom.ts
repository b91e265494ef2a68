import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { JobOutcome } from '../contracts.ts';
import type { JobEvidence } from './evidence.ts';
import { inputsRead } from './data-access.ts';
import { imageComponents } from './image-packages.ts';

/** CycloneDX 1.6 parts the library's object model lacks (modelCard, data, formulation), typed here. */
export interface ModelCard {
  modelParameters?: { task?: string; architectureFamily?: string; datasets?: { ref: string }[] };
  quantitativeAnalysis?: { performanceMetrics: { type: string; value: string }[] };
  considerations?: { useCases?: string[]; technicalLimitations?: string[]; ethicalConsiderations?: { name: string }[] };
  properties?: { name: string; value: string }[];
}
export interface Formulation {
  'bom-ref': string;
  workflows: {
    'bom-ref': string;
    uid: string;
    name: string;
    taskTypes: string[];
    timeStart: string;
    timeEnd: string;
    inputs: { resource: { ref: string } }[];
    outputs: { resource: { ref: string } }[];
    properties: { name: string; value: string }[];
  }[];
}
export interface JsfSignature {
  algorithm: 'ES256';
  publicKey: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  value: string;
}
export type BomJson = Record<string, unknown> & { components?: Record<string, unknown>[]; signature?: JsfSignature };

export interface AibomInput {
  outcome: JobOutcome;
  evidence: JobEvidence;
  /** Repository of the model (e.g. models/mnist) and its manifest digest `sha256:<hex>` once known. */
  repository: string;
  manifestDigest: string;
  /** SHA-256 hex of the in-toto link file, referenced from the model component. */
  linkSha256: string;
  /** Input repositories by input name (`datasets/x`), with their manifest digests, when pushed. */
  inputRefs?: Record<string, { repository: string; digest: string }>;
  /** Root digest (hex) of the OpenSSF model signature over the model's files (model-signature.ts). */
  modelSignatureRoot?: string;
}

/** The model component's property naming the OpenSSF model signature's root digest (`sha256:<hex>`). */
export const MODEL_SIGNATURE_ROOT_PROPERTY = 'aibomgen:model-signature:root-digest';

/** The root digest the AIBoM's model component names (`sha256:<hex>`), if any. Total: any shape → undefined. */
export function aibomModelSignatureRoot(doc: unknown): string | undefined {
  const props = (doc as { metadata?: { component?: { properties?: unknown } } } | null)?.metadata?.component
    ?.properties;
  if (!Array.isArray(props)) return undefined;
  const p = props.find((x) => (x as { name?: unknown } | null)?.name === MODEL_SIGNATURE_ROOT_PROPERTY) as
    | { value?: unknown }
    | undefined;
  return typeof p?.value === 'string' ? p.value : undefined;
}

const require = createRequire(import.meta.url);
function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function sha(hex: string): CDX.Models.HashDictionary {
  return new CDX.Models.HashDictionary([[CDX.Enums.HashAlgorithm['SHA-256'], hex]]);
}

function ociPurl(repository: string, digest: string): string {
  const name = repository.split('/').pop() ?? repository;
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repository)}`;
}

/** Numeric training metrics (from metrics.json) as model-card performance metrics. */
function performanceMetrics(metrics: Record<string, unknown>): { type: string; value: string }[] {
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => ({ type: k, value: String(v) }));
}

/** Builds the AIBoM (library object model + typed ML parts), unsigned. */
/** The data-access record (data-access.ts) as workflow properties, by input name; none without a record. */
function dataAccessProperties(o: JobOutcome): { name: string; value: string }[] {
  const access = inputsRead(o);
  return access
    ? [
        { name: 'aibomgen:data-access:read', value: JSON.stringify(access.read) },
        { name: 'aibomgen:data-access:unread', value: JSON.stringify(access.unread) },
      ]
    : [];
}

export function buildAibom(a: AibomInput): BomJson {
  const { outcome: o, evidence: ev } = a;
  const md = o.metadata;
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${crypto.randomUUID()}`;
  bom.metadata.timestamp = new Date(o.finishedAt);
  bom.metadata.tools.components.add(
    new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'aibomgen-ts', { version: '0.1.0' }),
  );

  const model = new CDX.Models.Component(CDX.Enums.ComponentType.MachineLearningModel, md.model_name ?? o.jobId, {
    bomRef: 'model',
    version: md.model_version ?? '0.0.0',
    description: md.model_description,
    author: md.author,
  });
  model.purl = ociPurl(a.repository, a.manifestDigest) as unknown as CDX.Models.Component['purl'];
  for (const [path, h] of Object.entries(ev.products))
    model.properties.add(new CDX.Models.Property(`aibomgen:product:${path}`, `sha256:${h.sha256}`));
  model.externalReferences.add(
    new CDX.Models.ExternalReference(
      `urn:in-toto:link:sha256:${a.linkSha256}`,
      CDX.Enums.ExternalReferenceType.Attestation,
      { comment: 'in-toto link for step train', hashes: sha(a.linkSha256) },
    ),
  );
  if (a.modelSignatureRoot)
    model.properties.add(new CDX.Models.Property(MODEL_SIGNATURE_ROOT_PROPERTY, `sha256:${a.modelSignatureRoot}`));
  if (md.license_name) model.licenses.add(new CDX.Models.NamedLicense(md.license_name));
  bom.metadata.component = model;

  const dataRefs: string[] = [];
  for (const f of o.inputs) {
    const h = ev.materials[`inputs/${f.name}`]?.sha256 ?? '';
    const isModel = f.role === 'model';
    const c = new CDX.Models.Component(
      isModel ? CDX.Enums.ComponentType.MachineLearningModel : CDX.Enums.ComponentType.Data,
      f.name,
      { bomRef: `input:${f.name}`, hashes: sha(h) },
    );
    const ref = a.inputRefs?.[f.name];
    if (ref) c.purl = ociPurl(ref.repository, ref.digest) as unknown as CDX.Models.Component['purl'];
    c.properties.add(new CDX.Models.Property('aibomgen:role', f.role));
    if (isModel && md.base_model_source)
      c.properties.add(new CDX.Models.Property('aibomgen:base_model_source', md.base_model_source));
    bom.components.add(c);
    if (!isModel) dataRefs.push(`input:${f.name}`);
  }
  if (o.runner.image) {
    const img = new CDX.Models.Component(CDX.Enums.ComponentType.Container, o.runner.image, {
      bomRef: 'trainer-image',
    });
    if (o.runner.imageDigest)
      img.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], o.runner.imageDigest.replace(/^sha256:/, ''));
    bom.components.add(img);
  }
  // A container job lists what its image really held (read by the runner); a process job ran this host's TF.js.
  if (o.imageInventory) for (const c of imageComponents(o.imageInventory)) bom.components.add(c);
  else
    for (const lib of [
      '@tensorflow/tfjs-core',
      '@tensorflow/tfjs-layers',
      '@tensorflow/tfjs-backend-wasm',
      '@tensorflow/tfjs-backend-cpu',
    ]) {
      bom.components.add(
        new CDX.Models.Component(CDX.Enums.ComponentType.Library, lib, {
          bomRef: `lib:${lib}`,
          version: pkgVersion(lib),
        }),
      );
    }

  const ser = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot6));
  const doc = JSON.parse(ser.serialize(bom, { sortLists: false })) as BomJson & {
    metadata: { component: Record<string, unknown> };
  };

  const card: ModelCard = {
    modelParameters: {
      ...(md.model_type ? { task: md.model_type } : {}),
      architectureFamily: o.framework,
      datasets: dataRefs.map((ref) => ({ ref })),
    },
    quantitativeAnalysis: { performanceMetrics: performanceMetrics(ev.metrics) },
    considerations: {
      ...(md.intended_use ? { useCases: [md.intended_use] } : {}),
      ...(md.out_of_scope ? { technicalLimitations: [md.out_of_scope] } : {}),
      ...(md.misuse_or_malicious ? { ethicalConsiderations: [{ name: md.misuse_or_malicious }] } : {}),
    },
  };
  doc.metadata.component.modelCard = card;
  for (const c of doc.components ?? []) {
    if (c.type === 'data') c.data = [{ type: 'dataset', name: String(c.name) }];
  }
  const formulation: Formulation[] = [
    {
      'bom-ref': 'formulation',
      workflows: [
        {
          'bom-ref': 'workflow:train',
          uid: o.jobId,
          name: 'train',
          taskTypes: ['build'],
          timeStart: o.startedAt,
          timeEnd: o.finishedAt,
          inputs: o.inputs.map((f) => ({ resource: { ref: `input:${f.name}` } })),
          outputs: [{ resource: { ref: 'model' } }],
          properties: [
            ...Object.entries(o.params).map(([k, v]) => ({ name: `aibomgen:param:${k}`, value: JSON.stringify(v) })),
            ...Object.entries(ev.environment).map(([k, v]) => ({ name: `aibomgen:env:${k}`, value: v })),
            ...(o.worker ? [{ name: 'aibomgen:worker', value: o.worker }] : []),
            // The platform trainer that ran, and whether the runner chose it (a TF.js job run on Keras: `auto`).
            ...(o.runner.framework ? [{ name: 'aibomgen:trainer', value: o.runner.framework }] : []),
            ...(o.runner.trainerChoice ? [{ name: 'aibomgen:trainer_choice', value: o.runner.trainerChoice }] : []),
            { name: 'aibomgen:command', value: o.runner.command.join(' ') },
            { name: 'aibomgen:exit_code', value: String(o.exitCode) },
            { name: 'aibomgen:stdout_sha256', value: ev.byproductHashes.stdout },
            { name: 'aibomgen:stderr_sha256', value: ev.byproductHashes.stderr },
            // The data-access record (data-access.ts), only when the runner kept one.
            ...dataAccessProperties(o),
          ],
        },
      ],
    },
  ];
  doc.formulation = formulation;
  return doc;
}

/** One validator per process: it compiles the CycloneDX schemas on first use and keeps them (~0.3 s per compile). */
let validator: InstanceType<typeof CDX.Validation.JsonStrictValidator> | undefined;
const aibomValidator = (): InstanceType<typeof CDX.Validation.JsonStrictValidator> =>
  (validator ??= new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6));

/** Compiles the schemas now (the first validation otherwise pays for it). */
export async function warmAibomValidator(): Promise<void> {
  await aibomValidator().validate('{"bomFormat":"CycloneDX","specVersion":"1.6"}');
}
/** Validates against the CycloneDX 1.6 JSON schema (strict); throws naming the first problems. */
export async function validateAibom(doc: BomJson): Promise<void> {
  const err = await aibomValidator().validate(JSON.stringify(doc));
  if (err !== null) throw new Error(`AIBoM is not valid CycloneDX 1.6: ${JSON.stringify(err).slice(0, 2000)}`);
}

/** JCS (RFC 8785) for JSON made of strings, booleans, null, objects, arrays and finite numbers. */
export function jcs(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${jcs(o[k])}`)
    .join(',')}}`;
}

/** JSF in-document signature (ES256 over the JCS form of the document with the signature minus `value`). */
export function signAibom(doc: BomJson, key: KeyObject): BomJson {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as { x: string; y: string };
  const signature: Omit<JsfSignature, 'value'> = {
    algorithm: 'ES256',
    publicKey: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
  };
  const { signature: _old, ...body } = doc;
  void _old;
  const bytes = Buffer.from(jcs({ ...body, signature }), 'utf8');
  const value = sign('sha256', bytes, { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return { ...body, signature: { ...signature, value } };
}

/** Checks the JSF signature with the given platform public key (not the key embedded in the document). */
export function verifyAibomSignature(doc: BomJson, pubPem: string): { ok: boolean; reason?: string } {
  const sig = doc.signature;
  if (!sig) return { ok: false, reason: 'AIBoM carries no JSF signature' };
  const jwk = createPublicKey(pubPem).export({ format: 'jwk' }) as { x: string; y: string };
  if (sig.publicKey?.x !== jwk.x || sig.publicKey?.y !== jwk.y)
    return { ok: false, reason: 'AIBoM signed by another key' };
  const { value, ...rest } = sig;
  const { signature: _s, ...body } = doc;
  void _s;
  const ok = verify(
    'sha256',
    Buffer.from(jcs({ ...body, signature: rest }), 'utf8'),
    { key: createPublicKey(pubPem), dsaEncoding: 'ieee-p1363' },
    Buffer.from(value, 'base64url'),
  );
  return ok ? { ok } : { ok, reason: 'AIBoM JSF signature does not verify' };
}
