import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobOutcome, Publication } from '../../server/contracts.ts';
import type { TestServer } from '../helpers/server.ts';

/**
 * Publishes a small model through the server's real publisher (in-toto link, AIBoM, DSSE bundles, cosign
 * signature, pushed through its own /v2/), without a training job: what pull/verify/bom read.
 */
export async function publishSample(
  srv: TestServer,
  name: string,
  version: string,
): Promise<{ pub: Publication; outputDir: string }> {
  const root = join(srv.dataDir, `sample-${name}-${version}`);
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), `x,y\n1,0\n2,1\n`);
  writeFileSync(join(root, 'out', 'model', 'model.json'), JSON.stringify({ modelTopology: { name, version } }));
  // Distinct bytes per model: blobs are content-addressed, so a tampered blob must not be shared.
  writeFileSync(
    join(root, 'out', 'model', 'weights.bin'),
    Buffer.concat([Buffer.from(`${name}:${version}:`), Buffer.alloc(4096, 3)]),
  );
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ loss: 0.25, accuracy: 0.875 }));
  writeFileSync(join(root, 'stdout'), 'epoch 1\n');
  writeFileSync(join(root, 'stderr'), '');
  const outcome: JobOutcome = {
    jobId: `job-${name}-${version}`,
    owner: 'cli-test',
    framework: 'tfjs',
    params: { epochs: 1, batch_size: 8 },
    metadata: {
      model_name: name,
      model_version: version,
      author: 'Ada',
      license_name: 'MIT',
      model_description: 'a CLI test model',
      intended_use: 'tests',
    },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 10 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-11-25T10:00:00.000Z',
    startedAt: '2026-11-25T10:00:01.000Z',
    finishedAt: '2026-11-25T10:00:09.000Z',
  };
  if (!srv.services.publisher) throw new Error('the attest area registered no publisher');
  const pub = await srv.services.publisher.publish(outcome);
  return { pub, outputDir: join(root, 'out') };
}
