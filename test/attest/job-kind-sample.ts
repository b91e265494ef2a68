import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobOutcome, Publication } from '../../server/contracts.ts';
import type { OciTarget } from '../../server/oci/target.ts';
import type { TestServer } from '../helpers/server.ts';

/** A trainer image digest as podman reports one (an image ID: 64 hex, no algorithm). */
export const IMAGE_ID = `${'a'.repeat(63)}b`;

/**
 * Publishes a job's files through the server's real publisher as a job of `kind`: the platform trainer (the
 * trainer's metrics.json shape, held-out `val_*` metrics) or a user image (its image digest reported by the engine).
 */
export async function publishKind(
  srv: TestServer,
  name: string,
  kind: 'platform' | 'image',
  metrics: Record<string, unknown>,
): Promise<{ pub: Publication; outcome: JobOutcome }> {
  const root = join(srv.dataDir, `kind-${name}`);
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), `x,y\n1,0\n2,1\n${name}\n`);
  writeFileSync(join(root, 'in', 'definition.json'), JSON.stringify({ features: ['x'], label: 'y' }));
  writeFileSync(join(root, 'out', 'model', 'model.json'), JSON.stringify({ modelTopology: { name } }));
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), Buffer.concat([Buffer.from(name), Buffer.alloc(512, 1)]));
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify(metrics));
  writeFileSync(join(root, 'stdout'), 'epoch 1\n');
  writeFileSync(join(root, 'stderr'), '');
  const outcome: JobOutcome = {
    jobId: `job-${name}`,
    owner: 'kinds',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: name, model_version: '1.0.0' },
    inputs: [
      { role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 },
      {
        role: 'dataset_definition',
        name: 'definition.json',
        path: join(root, 'in', 'definition.json'),
        digest: '',
        size: 1,
      },
    ],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner:
      kind === 'platform'
        ? { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'], trainer: 'platform' }
        : {
            kind: 'docker',
            isolated: true,
            image: `${srv.hostPort}/kinds/trainer:1`,
            imageDigest: IMAGE_ID,
            command: ['python', 'train.py'],
            trainer: 'image',
          },
    queuedAt: '2026-12-05T10:00:00.000Z',
    startedAt: '2026-12-05T10:00:01.000Z',
    finishedAt: '2026-12-05T10:00:09.000Z',
  };
  return { pub: await srv.services.publisher!.publish(outcome), outcome };
}

/** The bytes of the one layer of the referrer `digest` (a link, a bundle) in `repo`. */
export async function referrerBlob(t: OciTarget, repo: string, digest: string): Promise<Buffer> {
  const m = (await t.getManifest(repo, digest))!;
  const layer = (JSON.parse(Buffer.from(m.bytes).toString('utf8')) as { layers: { digest: string }[] }).layers[0]!;
  return Buffer.from(await t.fetchBlob(repo, layer.digest));
}
