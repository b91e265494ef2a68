import type { KeyObject } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import pMap from 'p-map';
import { Annotation, MediaType } from '../../schema/media-types.ts';
import type { AttestationRef, JobOutcome, Publication, Publisher } from '../contracts.ts';
import { warmAibomValidator } from './aibom.ts';
import { buildEvidenceDocs } from './evidence-docs.ts';
import { collectEvidence } from './evidence.ts';
import { listFiles } from './hash.ts';
import { pushCosignSignature } from './cosign-sig.ts';
import { digestOf } from '../oci/digest.ts';
import { crashPoint } from '../ops/crash-point.ts';
import { repoName } from './model-names.ts';
import type { OciDescriptor as Descriptor, OciTarget } from '../oci/target.ts';

const EMPTY_JSON = Buffer.from('{}');
/** Blob uploads in flight at once: the registry round trips, not the bytes, dominate a typical job's push. */
const PUSH_CONCURRENCY = 4;

export interface PublisherOptions {
  /** Where models are published: the registry in process acting as the platform (or any OCI target in tests). */
  target: OciTarget;
  /** Registry host:port printed in references (e.g. 127.0.0.1:8080); a function when known only after listen. */
  registryHost: string | (() => string);
  loadKey: () => Promise<KeyObject>;
  namespace?: string;
  /** Claims the model name for the job's owner (model-names.ts); false: another owner holds it, nothing is published. */
  claimName?: (repo: string, owner: string) => Promise<boolean>;
  /** AIBOMGEN_MIN_AIBOM_SCORE: an AIBoM scoring below it is refused (evidence-docs.ts), nothing is published. */
  minScore?: number;
}

/** OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`. */
function tagOf(s: string): string {
  const t = s
    .replace(/[^A-Za-z0-9._-]/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 128);
  return t || 'latest';
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

/** A manifest to push: its bytes, descriptor and, for a referrer, what it is. */
interface Planned {
  repo: string;
  ref: string;
  bytes: Buffer;
  desc: Descriptor;
}

function plan(repo: string, m: Record<string, unknown>, tag?: string, extra: Partial<Descriptor> = {}): Planned {
  const bytes = manifestBytes(m);
  const digest = digestOf(bytes);
  return {
    repo,
    ref: tag ?? digest,
    bytes,
    desc: { mediaType: MediaType.ociManifest, digest, size: bytes.byteLength, ...extra },
  };
}

const emptyCfg: Descriptor = {
  mediaType: MediaType.ociEmpty,
  digest: digestOf(EMPTY_JSON),
  size: EMPTY_JSON.byteLength,
};

/**
 * The publisher, in two phases that the job's states name. `attesting`: everything is measured, built and
 * signed from the job's files alone — hashes, the model's manifest (so its digest, the subject of every piece
 * of evidence, is known before anything is pushed), the in-toto link, the AIBoM, the DSSE bundles, the cosign
 * signature. `publishing`: blobs, then manifests, then referrers, and the version tag last, so a failure
 * leaves the model reachable by digest alone, never by name.
 */
/** Where the publisher puts a job's inputs beside the model: written only by the platform, like the trusted namespace. */
export const INPUT_NAMESPACES = ['datasets', 'base-models'] as const;

export function createPublisher(o: PublisherOptions): Publisher {
  const ns = o.namespace ?? 'models';
  const p = o.target;

  /** A file's layer descriptor from the evidence's hash (the push below checks the file still has it). */
  async function layerOf(
    path: string,
    sha256: string | undefined,
    mediaType: string,
    annotations: Record<string, string>,
  ): Promise<Descriptor> {
    if (!sha256) throw new Error(`${path} was not hashed with the job's evidence`);
    return { mediaType, digest: `sha256:${sha256}`, size: (await stat(path)).size, annotations };
  }

  async function pushFile(repo: string, path: string, want: Descriptor): Promise<void> {
    const got = await p.pushBlobFile(repo, path, want.mediaType, want.annotations);
    if (got.digest !== want.digest)
      throw new Error(`${path} changed after it was attested (${got.digest}, attested ${want.digest})`);
  }

  return {
    prepare: warmAibomValidator,
    async publish(outcome: JobOutcome, onStep) {
      // ---- attesting: measure, build, sign; nothing is pushed yet ----
      onStep?.('attesting');
      const registryHost = typeof o.registryHost === 'function' ? o.registryHost() : o.registryHost;
      const md = outcome.metadata;
      const name = repoName(md.model_name ?? outcome.jobId);
      const version = tagOf(md.model_version ?? outcome.jobId);
      const repo = `${ns}/${name}`;
      if (o.claimName && !(await o.claimName(repo, outcome.owner)))
        throw new Error(
          `the model name ${repo} belongs to another owner: nothing was published (choose another model_name)`,
        );
      const [key, ev, files] = await Promise.all([o.loadKey(), collectEvidence(outcome), listFiles(outcome.outputDir)]);

      // The inputs become artifacts of their own (datasets/<name>, base-models/<name>) so the model's evidence names them by digest.
      const published = outcome.inputs.filter(
        (f) => f.role === 'dataset' || f.role === 'dataset_definition' || f.role === 'model',
      );
      const inputPlans = await Promise.all(
        published.map(async (f) => {
          const r = f.role === 'model' ? `base-models/${repoName(f.name)}` : `datasets/${repoName(f.name)}`;
          const mediaType = f.role === 'model' ? MediaType.modelWeightRaw : MediaType.modelDatasetRaw;
          const layer = await layerOf(f.path, ev.materials[`inputs/${f.name}`]?.sha256, mediaType, {
            [Annotation.title]: f.name,
          });
          const manifest = plan(
            r,
            {
              schemaVersion: 2,
              mediaType: MediaType.ociManifest,
              artifactType: mediaType,
              config: emptyCfg,
              layers: [layer],
            },
            tagOf(outcome.jobId),
          );
          return { file: f, layer, manifest };
        }),
      );
      const inputs: Publication['inputs'] = inputPlans.map((i) => ({
        role: i.file.role,
        repository: i.manifest.repo,
        digest: i.manifest.desc.digest,
      }));
      const inputRefs: Record<string, { repository: string; digest: string }> = {};
      for (const i of inputPlans)
        inputRefs[i.file.name] = { repository: i.manifest.repo, digest: i.manifest.desc.digest };

      // The model as a ModelPack artifact.
      const layers = await Promise.all(
        files.map((rel) =>
          layerOf(join(outcome.outputDir, rel), ev.products[`outputs/${rel}`]?.sha256, layerType(rel), {
            [Annotation.title]: rel,
            [Annotation.modelFilepath]: rel,
            [Annotation.modelFilepathCnai]: rel,
          }),
        ),
      );
      const configBytes = Buffer.from(
        JSON.stringify({
          descriptor: {
            name: md.model_name ?? name,
            version: md.model_version ?? version,
            ...(md.author ? { authors: [md.author] } : {}),
            ...(md.license_name ? { licenses: [md.license_name] } : {}),
            createdAt: outcome.finishedAt,
          },
          config: { format: outcome.framework },
          modelfs: { type: 'layers', diffIds: layers.map((l) => l.digest) },
        }),
      );
      const cfg: Descriptor = {
        mediaType: MediaType.modelConfig,
        digest: digestOf(configBytes),
        size: configBytes.byteLength,
      };
      // Datasets only: the definition (also pushed, and in the AIBoM) describes the dataset, no model was trained on it.
      const datasets = inputs.filter((i) => i.role === 'dataset').map((i) => `${i.repository}@${i.digest}`);
      const base = inputs.find((i) => i.role === 'model');
      const model = plan(repo, {
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        artifactType: MediaType.modelManifestArtifact,
        config: cfg,
        layers,
        annotations: {
          [Annotation.created]: outcome.finishedAt,
          [Annotation.job]: outcome.jobId,
          ...(datasets.length ? { [Annotation.dataset]: datasets.join(',') } : {}),
          ...(base ? { [Annotation.baseModel]: `${base.repository}@${base.digest}` } : {}),
          ...(outcome.runner.image
            ? {
                [Annotation.trainerImage]: outcome.runner.imageDigest
                  ? `${outcome.runner.image}@${outcome.runner.imageDigest}`
                  : outcome.runner.image,
              }
            : {}),
        },
      });

      // Evidence bound to this manifest digest (evidence-docs.ts: the list of documents, each one referrer).
      const subjectName = `${registryHost}/${repo}`;
      const docs = await buildEvidenceDocs({
        outcome,
        evidence: ev,
        key,
        repository: repo,
        subjectName,
        registryHost,
        modelDigest: model.desc.digest,
        inputRefs,
        ...(o.minScore !== undefined ? { minScore: o.minScore } : {}),
      });
      const evidence = docs.map((e) => {
        const layer: Descriptor = {
          mediaType: e.type,
          digest: digestOf(e.bytes),
          size: e.bytes.byteLength,
          annotations: { [Annotation.title]: e.title },
        };
        const created = { [Annotation.created]: new Date().toISOString(), ...e.annotations };
        const manifest = plan(
          repo,
          {
            schemaVersion: 2,
            mediaType: MediaType.ociManifest,
            artifactType: e.type,
            config: emptyCfg,
            layers: [layer],
            subject: { mediaType: model.desc.mediaType, digest: model.desc.digest, size: model.desc.size },
            annotations: created,
          },
          undefined,
          { artifactType: e.type, annotations: e.annotations },
        );
        return { ...e, layer, manifest };
      });

      // ---- publishing: blobs, manifests, referrers, the tag last ----
      onStep?.('publishing');
      crashPoint('publish:attested');
      await Promise.all([
        pMap(
          inputPlans,
          async (i) => {
            await Promise.all([
              p.pushBlob(i.manifest.repo, EMPTY_JSON, MediaType.ociEmpty),
              pushFile(i.manifest.repo, i.file.path, i.layer),
            ]);
            await p.pushManifest(i.manifest.repo, i.manifest.ref, i.manifest.bytes);
            crashPoint('publish:input-manifest');
          },
          { concurrency: PUSH_CONCURRENCY },
        ),
        pMap(
          files,
          (rel, n) => pushFile(repo, join(outcome.outputDir, rel), layers[n]!).then(() => crashPoint('publish:blob')),
          {
            concurrency: PUSH_CONCURRENCY,
          },
        ),
        p.pushBlob(repo, configBytes, MediaType.modelConfig),
        p.pushBlob(repo, EMPTY_JSON, MediaType.ociEmpty),
      ]);
      crashPoint('publish:blobs-pushed');
      await p.pushManifest(repo, model.ref, model.bytes);
      crashPoint('publish:manifest');
      // Every push settles before a failure is handled: a rollback must not race a push still in flight.
      const cosignSig = await withRollback(
        p,
        repo,
        model.desc.digest,
        evidence.map((e) => e.manifest.desc.digest),
        async () => {
          const pushed = await Promise.allSettled([
            pushCosignSignature(p, repo, subjectName, model.desc.digest, key),
            ...evidence.map(async (e) => {
              await p.pushBlob(repo, e.bytes, e.type, e.layer.annotations);
              await p.pushManifest(repo, e.manifest.ref, e.manifest.bytes);
              crashPoint('publish:referrer');
            }),
          ]);
          for (const r of pushed) if (r.status === 'rejected') throw r.reason;
          crashPoint('publish:referrers-pushed');
          await p.addToFallbackIndex(
            repo,
            model.desc.digest,
            evidence.map((e) => e.manifest.desc),
          );
          crashPoint('publish:fallback-index');
          return (pushed[0] as PromiseFulfilledResult<Descriptor>).value;
        },
      );
      const attestations: AttestationRef[] = [
        ...evidence.map((e) => ({ kind: e.kind, d: e.manifest.desc })),
        { kind: 'cosign-signature' as const, d: cosignSig },
      ].map(({ kind, d }) => ({ kind, mediaType: d.mediaType, artifactType: d.artifactType, digest: d.digest }));

      // Only now the tag: a failure above leaves the model reachable by digest alone, never by name.
      crashPoint('publish:before-tag');
      await p.pushManifest(repo, version, model.bytes);
      crashPoint('publish:after-tag');
      return {
        ref: `${registryHost}/${repo}:${version}`,
        repository: repo,
        tag: version,
        digest: model.desc.digest,
        inputs,
        attestations,
      };
    },
  };
}

/**
 * Runs the part of a publication after the model manifest is stored; should it fail, removes what it left (the
 * referrers, the cosign signature and fallback tags, the untagged model manifest), so a failed publish leaves no
 * version listed. Best effort: the original failure is what the job reports.
 */
async function withRollback<T>(
  p: OciTarget,
  repo: string,
  model: string,
  referrers: string[],
  f: () => Promise<T>,
): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const tag = model.replace(':', '-');
    for (const ref of [...referrers, `${tag}.sig`, tag, model])
      await p.deleteManifest(repo, ref).catch(() => undefined);
    throw e;
  }
}
