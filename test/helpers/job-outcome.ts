import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobOutcome } from '../../server/contracts.ts';

/**
 * A finished job as the publisher takes it (a process-runner TF.js run), its files written under `root`; `seed`
 * makes its files and job id differ from another's. For tests of publication and verification.
 */
export function finishedJob(
  root: string,
  seed: string,
  o: { modelName?: string; modelVersion?: string; at?: string } = {},
): JobOutcome {
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), `x,y\n1,0\n${seed},1\n`);
  writeFileSync(join(root, 'out', 'model', 'model.json'), JSON.stringify({ modelTopology: { seed } }));
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), Buffer.from(`weights-${seed}`));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ backend: 'wasm', loss: 0.5 }));
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  const at = o.at ?? '2026-11-24T05:00';
  return {
    jobId: `job-${seed}`,
    owner: 'alice',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: {
      model_name: o.modelName ?? 'demo',
      model_version: o.modelVersion ?? `1.0.${seed.length}`,
      author: 'alice',
      license_name: 'MIT',
    },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: `${at}:00.000Z`,
    startedAt: `${at}:01.000Z`,
    finishedAt: `${at}:31.000Z`,
  };
}
