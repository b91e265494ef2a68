import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import pMap from 'p-map';
import { Annotation, MediaType } from '../../schema/media-types.ts';
import type { AttestationRef, JobOutcome, Publication, Publisher } from '../contracts.ts';
import { buildAibom, signAibom, validateAibom, warmAibomValidator } from './aibom.ts';
import { PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1, signStatement, statement } from './dsse.ts';
import { collectEvidence } from './evidence.ts';
import { listFiles } from './hash.ts';
import { pushCosignSignature } from './cosign-sig.ts';
import { createLink, linkFileName } from './link.ts';
import { digestOf, OciPusher, type Descriptor } from './oci-push.ts';
import { slsaProvenance } from './provenance.ts';

const EMPTY_JSON = Buffer.from('{}');
/** Blob uploads in flight at once: the registry round trips, not the bytes, dominate a typical job's push. */
const PUSH_CONCURRENCY = 4;

export interface PublisherOptions {
  pusher: OciPusher;
  /** Registry host:port printed in references (e.g. 127.0.0.1:8080); a function when known only after listen. */
  registryHost: string | (() => string);
  loadKey: () => Promise<KeyObject>;
  namespace?: string;
}

/** OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`. */
function tagOf(s: string): string {
  const t = s.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '').slice(0, 128);
  return t || 'latest';
}
function repoName(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[._-]+|[._-]+$/g, '') || 'model';
}

/** ModelPack layer type by file role: weights, weight config (topology), everything else as doc. */
function layerType(path: string): string {
  if (/\.(bin|h5|keras|safetensors|onnx)$/i.test(path)) return MediaType.modelWeightRaw;
  if (/(^|\/)model\.json$/.test(path)) return MediaType.modelWeightConfigRaw;
  return MediaType.modelDocRaw;
}

function manifestBytes(m: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify(m));
}

export function createPublisher(o: PublisherOptions): Publisher {
  const ns = o.namespace ?? 'models';
  const p = o.pusher;

  /** Pushes one file as an artifact of its own (datasets/<name>, base-models/<name>) under `tag`. */
  async function pushInput(repo: string, tag: string, file: string, name: string, mediaType: string): Promise<Descriptor> {
    const [cfg, layer] = await Promise.all([p.pushBlob(repo, EMPTY_JSON, MediaType.ociEmpty), p.pushBlobFile(repo, file, mediaType, { [Annotation.title]: name })]);
    const m = manifestBytes({ schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: mediaType, config: cfg, layers: [layer] });
    return p.pushManifest(repo, tag, m);
  }

  /** Pushes an evidence artifact as a referrer of the model manifest (`cfg`: the empty config, already pushed). */
  async function pushReferrer(repo: string, subject: Descriptor, cfg: Descriptor, artifactType: string, bytes: Buffer, title: string, annotations: Record<string, string> = {}): Promise<Descriptor> {
    const layer = await p.pushBlob(repo, bytes, artifactType, { [Annotation.title]: title });
    const m = manifestBytes({
      schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType, config: cfg, layers: [layer],
      subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      annotations: { [Annotation.created]: new Date().toISOString(), ...annotations },
    });
    const d = await p.pushManifest(repo, digestOf(m), m);
    return { ...d, artifactType, annotations };
  }

  return {
    prepare: warmAibomValidator,
    async publish(outcome: JobOutcome, onStep) {
      onStep?.('attesting');
      const registryHost = typeof o.registryHost === 'function' ? o.registryHost() : o.registryHost;
      const key = await o.loadKey();
      const md = outcome.metadata;
      const name = repoName(md.model_name ?? outcome.jobId);
      const version = tagOf(md.model_version ?? outcome.jobId);
      const repo = `${ns}/${name}`;

      onStep?.('publishing');
      // The evidence (hashes, environment), the inputs (so the model's evidence names them by digest), the model's
      // files and the referrers' empty config, together: none needs another. Manifests follow their blobs.
      const published = outcome.inputs.filter((f) => f.role === 'dataset' || f.role === 'dataset_definition' || f.role === 'model');
      const [ev, inputs, layers, emptyCfg] = await Promise.all([
        collectEvidence(outcome),
        pMap(published, async (f): Promise<Publication['inputs'][number]> => {
          const r = f.role === 'model' ? `base-models/${repoName(f.name)}` : `datasets/${repoName(f.name)}`;
          const d = await pushInput(r, tagOf(outcome.jobId), f.path, f.name, f.role === 'model' ? MediaType.modelWeightRaw : MediaType.modelDatasetRaw);
          return { role: f.role, repository: r, digest: d.digest };
        }, { concurrency: PUSH_CONCURRENCY }),
        // The model as a ModelPack artifact, pushed by digest only (no tag until every referrer is attached).
        pMap(await listFiles(outcome.outputDir), (rel) =>
          p.pushBlobFile(repo, join(outcome.outputDir, rel), layerType(rel), { [Annotation.title]: rel, [Annotation.modelFilepath]: rel }), { concurrency: PUSH_CONCURRENCY }),
        p.pushBlob(repo, EMPTY_JSON, MediaType.ociEmpty),
      ]);
      const inputRefs: Record<string, { repository: string; digest: string }> = {};
      published.forEach((f, i) => { inputRefs[f.name] = { repository: inputs[i]!.repository, digest: inputs[i]!.digest }; });

      const config = {
        descriptor: {
          name: md.model_name ?? name, version: md.model_version ?? version,
          ...(md.author ? { authors: [md.author] } : {}), ...(md.license_name ? { licenses: [md.license_name] } : {}),
          createdAt: outcome.finishedAt,
        },
        config: { format: outcome.framework },
        modelfs: { type: 'layers', diffIds: layers.map((l) => l.digest) },
      };
      const cfg = await p.pushBlob(repo, Buffer.from(JSON.stringify(config)), MediaType.modelConfig);
      // Datasets only: the definition (also pushed, and in the AIBoM) describes the dataset, no model was trained on it.
      const datasets = inputs.filter((i) => i.role === 'dataset').map((i) => `${i.repository}@${i.digest}`);
      const base = inputs.find((i) => i.role === 'model');
      const mBytes = manifestBytes({
        schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: MediaType.modelManifestArtifact, config: cfg, layers,
        annotations: {
          [Annotation.created]: outcome.finishedAt, [Annotation.job]: outcome.jobId,
          ...(datasets.length ? { [Annotation.dataset]: datasets.join(',') } : {}),
          ...(base ? { [Annotation.baseModel]: `${base.repository}@${base.digest}` } : {}),
          ...(outcome.runner.image ? { [Annotation.trainerImage]: outcome.runner.imageDigest ? `${outcome.runner.image}@${outcome.runner.imageDigest}` : outcome.runner.image } : {}),
        },
      });
      const model = await p.pushManifest(repo, digestOf(mBytes), mBytes);

      // Evidence bound to this manifest digest.
      const link = createLink({ key, command: outcome.runner.command, ...ev });
      const linkBytes = Buffer.from(JSON.stringify(link));
      const linkSha = digestOf(linkBytes).slice('sha256:'.length);
      const aibom = signAibom(buildAibom({ outcome, evidence: ev, repository: repo, manifestDigest: model.digest, linkSha256: linkSha, inputRefs }), key);
      await validateAibom(aibom);
      const subjectName = `${registryHost}/${repo}`;
      const bomBundle = await signStatement(statement(subjectName, model.digest, PREDICATE_CYCLONEDX, aibom), key);
      const slsaBundle = await signStatement(statement(subjectName, model.digest, PREDICATE_SLSA_V1, slsaProvenance(outcome, Object.fromEntries(Object.entries(inputRefs).map(([k, v]) => [k, { uri: `oci://${registryHost}/${v.repository}@${v.digest}`, sha256: v.digest.slice(7) }])))), key);

      // The referrers and the cosign signature in parallel, then one update of the referrers tag index.
      const sigstore = (predicateType: string) => ({ 'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': predicateType });
      const [referrers, cosignSig] = await Promise.all([
        Promise.all([
          pushReferrer(repo, model, emptyCfg, MediaType.inTotoLink, linkBytes, linkFileName(link)),
          pushReferrer(repo, model, emptyCfg, MediaType.cyclonedxJson, Buffer.from(JSON.stringify(aibom)), 'aibom.cdx.json'),
          pushReferrer(repo, model, emptyCfg, MediaType.sigstoreBundle, Buffer.from(JSON.stringify(bomBundle)), 'aibom.sigstore.json', sigstore(PREDICATE_CYCLONEDX)),
          pushReferrer(repo, model, emptyCfg, MediaType.sigstoreBundle, Buffer.from(JSON.stringify(slsaBundle)), 'provenance.sigstore.json', sigstore(PREDICATE_SLSA_V1)),
        ]),
        pushCosignSignature(p, repo, subjectName, model.digest, key),
      ]);
      await p.addToFallbackIndex(repo, model.digest, referrers);
      const kinds = ['in-toto-link', 'aibom', 'aibom-signature', 'slsa-provenance'] as const;
      const attestations: AttestationRef[] = [...referrers.map((d, i) => ({ kind: kinds[i]!, d })), { kind: 'cosign-signature' as const, d: cosignSig }]
        .map(({ kind, d }) => ({ kind, mediaType: d.mediaType, artifactType: d.artifactType, digest: d.digest }));

      // Only now the tag: a failure above leaves the model reachable by digest alone, never by name.
      await p.pushManifest(repo, version, mBytes);
      return { ref: `${registryHost}/${repo}:${version}`, repository: repo, tag: version, digest: model.digest, inputs, attestations };
    },
  };
}
