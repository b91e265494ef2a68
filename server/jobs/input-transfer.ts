import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import pMap from 'p-map';
import { Annotation, MediaType } from '../../schema/media-types.ts';
import { listFiles, sha256File } from '../attest/hash.ts';
import { parseManifest } from '../lineage/manifest.ts';
import type { OciTarget } from '../oci/target.ts';

/**
 * Job inputs through the registry (AIBOMGEN_JOB_INPUTS=registry), for workers that do not share the API
 * node's data directory: the API node pushes the job directory's `input/` and `uploads/` files as one OCI
 * artifact, `aibomgen/job-inputs:<job id>`, before the job is queued; a worker that finds no `input/` of
 * its own pulls it (every file checked against its digest) before the runner starts, and the artifact is
 * deleted once the job ended. The registry is the one store every node already shares; `oci` is the registry in
 * process, acting as the platform (or, in tests, any OciTarget).
 */
/** The platform's internal namespace: never readable or writable by users (server/registry/access.ts). */
export const INTERNAL_NAMESPACE = 'aibomgen';
export const JOB_INPUTS_REPO = `${INTERNAL_NAMESPACE}/job-inputs`;
const PARTS = ['input', 'uploads'] as const;
const EMPTY_JSON = Buffer.from('{}');

export async function pushJobInputs(oci: OciTarget, dir: string, jobId: string): Promise<string> {
  const files: string[] = [];
  for (const part of PARTS)
    if (existsSync(join(dir, part))) files.push(...(await listFiles(join(dir, part))).map((f) => `${part}/${f}`));
  const [layers, config] = await Promise.all([
    pMap(
      files,
      (rel) =>
        oci.pushBlobFile(JOB_INPUTS_REPO, join(dir, rel), 'application/octet-stream', { [Annotation.title]: rel }),
      { concurrency: 4 },
    ),
    oci.pushBlob(JOB_INPUTS_REPO, EMPTY_JSON, MediaType.ociEmpty),
  ]);
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: MediaType.jobInputsArtifact,
    config,
    layers,
    annotations: { [Annotation.job]: jobId },
  };
  return (await oci.pushManifest(JOB_INPUTS_REPO, jobId, Buffer.from(JSON.stringify(manifest)))).digest;
}

/** A layer title is a path under `input/` or `uploads/`, relative, normalised, without `..`. */
function safeTitle(title: string | undefined): string | undefined {
  if (!title || title.includes('\0') || posix.normalize(title) !== title || title.split('/').includes('..'))
    return undefined;
  return PARTS.some((p) => title.startsWith(`${p}/`)) ? title : undefined;
}

/** Writes the job's inputs from the registry into `dir`; throws naming what is missing or wrong. */
export async function pullJobInputs(oci: OciTarget, dir: string, jobId: string): Promise<number> {
  const m = await oci.getManifest(JOB_INPUTS_REPO, jobId);
  if (!m)
    throw new Error(
      `the job's inputs are neither in this node's data directory nor in the registry (${JOB_INPUTS_REPO}:${jobId}); the API node that took the job needs AIBOMGEN_JOB_INPUTS=registry`,
    );
  const doc = parseManifest(m.bytes);
  if (doc?.artifactType !== MediaType.jobInputsArtifact)
    throw new Error(
      `${JOB_INPUTS_REPO}:${jobId} is not a job-inputs artifact (${doc?.artifactType ?? 'no artifactType'})`,
    );
  const layers = doc.layers ?? [];
  for (const l of layers)
    if (!safeTitle(l.annotations?.[Annotation.title]) || !l.digest)
      throw new Error(
        `${JOB_INPUTS_REPO}:${jobId} names a file outside input/ and uploads/: ${JSON.stringify(l.annotations?.[Annotation.title])}`,
      );
  await pMap(
    layers,
    async (l) => {
      const path = join(dir, safeTitle(l.annotations?.[Annotation.title])!);
      await mkdir(dirname(path), { recursive: true });
      await oci.pullBlobToFile(JOB_INPUTS_REPO, l.digest!, path);
    },
    { concurrency: 4 },
  );
  return layers.length;
}

/** Deletes the job's inputs artifact (its blobs stay for the registry's own garbage collection). */
export async function dropJobInputs(oci: OciTarget, jobId: string): Promise<void> {
  const m = await oci.getManifest(JOB_INPUTS_REPO, jobId);
  if (m) await oci.deleteManifest(JOB_INPUTS_REPO, m.digest);
}

/**
 * The first input whose file is not what was recorded at submission (missing, or another digest), described;
 * undefined when all match. A job-inputs artifact replaced in the registry between submission and claim is
 * caught here, before the runner starts.
 */
export async function changedInputs(
  inputs: readonly { name: string; path: string; digest: string }[],
): Promise<string | undefined> {
  for (const f of inputs) {
    const actual = await sha256File(f.path).then(
      (h) => `sha256:${h}`,
      () => 'missing',
    );
    if (actual !== f.digest) return `${f.name} is ${actual}, ${f.digest} at submission`;
  }
  return undefined;
}
