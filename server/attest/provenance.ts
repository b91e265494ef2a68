import type { JobOutcome } from '../contracts.ts';

/** SLSA provenance v1 predicate for one training job. */
export function slsaProvenance(
  o: JobOutcome,
  inputRefs: Record<string, { uri: string; sha256: string }>,
): Record<string, unknown> {
  return {
    buildDefinition: {
      buildType: 'https://aibomgen.dev/training/v1',
      externalParameters: { params: o.params, metadata: o.metadata, framework: o.framework },
      internalParameters: {
        jobId: o.jobId,
        owner: o.owner,
        runner: { kind: o.runner.kind, isolated: o.runner.isolated },
      },
      resolvedDependencies: [
        ...o.inputs.map((f) => ({
          name: f.name,
          uri: inputRefs[f.name]?.uri ?? `file:inputs/${f.name}`,
          digest: { sha256: inputRefs[f.name]?.sha256 ?? f.digest.replace(/^sha256:/, '') },
          annotations: { role: f.role },
        })),
        ...(o.runner.image
          ? [
              {
                name: 'trainer-image',
                uri: `oci:${o.runner.image}`,
                ...(o.runner.imageDigest ? { digest: { sha256: o.runner.imageDigest.replace(/^sha256:/, '') } } : {}),
              },
            ]
          : []),
      ],
    },
    runDetails: {
      builder: { id: 'https://aibomgen.dev/platform' },
      metadata: { invocationId: o.jobId, startedOn: o.startedAt, finishedOn: o.finishedAt },
    },
  };
}
