import type { JobOutcome } from '../contracts.ts';
import type { JobEvidence } from './evidence.ts';

/** An in-toto ResourceDescriptor v1 (at least one of uri, digest, content: here always a digest). */
export interface ResourceDescriptor {
  name: string;
  uri?: string;
  digest: { sha256: string };
  mediaType?: string;
  annotations?: Record<string, string>;
}

const hex = (d: string): string => d.replace(/^sha256:/, '');

/**
 * SLSA provenance v1 predicate for one training job (schema/slsa-provenance-v1.schema.json checks its shape).
 * resolvedDependencies: every input (the published dataset / base-model artifact by its manifest digest, with the
 * file's own SHA-256 as an annotation; an unpublished input by its file digest) and the trainer image by digest.
 * byproducts: the job's logs, by the hashes the platform measured (the same as in the in-toto link).
 */
export function slsaProvenance(
  o: JobOutcome,
  inputRefs: Record<string, { uri: string; sha256: string }>,
  ev?: Pick<JobEvidence, 'materials' | 'byproductHashes'>,
): Record<string, unknown> {
  const inputs: ResourceDescriptor[] = o.inputs.flatMap((f) => {
    const file = ev?.materials[`inputs/${f.name}`]?.sha256 ?? hex(f.digest);
    const ref = inputRefs[f.name];
    const sha256 = ref?.sha256 ?? file;
    if (!/^[0-9a-f]{64}$/.test(sha256)) return [];
    return [
      {
        name: f.name,
        uri: ref?.uri ?? `file:inputs/${f.name}`,
        digest: { sha256 },
        annotations: { role: f.role, ...(file && ref ? { file_sha256: file } : {}) },
      },
    ];
  });
  const image: ResourceDescriptor[] =
    o.runner.image && o.runner.imageDigest
      ? [
          {
            name: 'trainer-image',
            uri: `oci://${o.runner.image.replace(/^oci:\/\//, '').replace(/@sha256:[0-9a-f]{64}$/, '')}@${o.runner.imageDigest}`,
            digest: { sha256: hex(o.runner.imageDigest) },
            annotations: { role: 'trainer-image' },
          },
        ]
      : [];
  const logs: ResourceDescriptor[] = (['stdout', 'stderr'] as const).flatMap((k) => {
    const sha256 = ev?.byproductHashes[k] ?? '';
    return sha256 ? [{ name: k, digest: { sha256 }, mediaType: 'text/plain' }] : [];
  });
  return {
    buildDefinition: {
      buildType: 'https://aibomgen.dev/training/v1',
      externalParameters: { params: o.params, metadata: o.metadata, framework: o.framework },
      internalParameters: {
        jobId: o.jobId,
        owner: o.owner,
        ...(o.worker ? { worker: o.worker } : {}),
        runner: {
          kind: o.runner.kind,
          isolated: o.runner.isolated,
          // An image named without a digest the engine reported is stated, but is no resolved dependency.
          ...(o.runner.image && !o.runner.imageDigest ? { image: o.runner.image } : {}),
        },
      },
      resolvedDependencies: [...inputs, ...image],
    },
    runDetails: {
      builder: { id: 'https://aibomgen.dev/platform', version: { 'aibomgen-ts': '0.1.0' } },
      metadata: { invocationId: o.jobId, startedOn: o.startedAt, finishedOn: o.finishedAt },
      byproducts: logs,
    },
  };
}
