/**
 * A publication that fails after the model manifest is stored (here: the registry refuses the AIBoM referrer)
 * leaves nothing behind: no model manifest, no referrer, no signature or fallback tag, no version in the lineage
 * index — and the version tag of an earlier publication still points where it did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType } from '../../schema/media-types.ts';
import { KEY_FILES, loadPrivateKey } from '../../server/attest/keys.ts';
import { createPublisher } from '../../server/attest/publisher.ts';
import type { JobOutcome } from '../../server/contracts.ts';
import { PLATFORM } from '../../server/identity.ts';
import type { OciTarget } from '../../server/oci/target.ts';
import { startTestServer } from '../helpers/server.ts';

function outcome(root: string, jobId: string): JobOutcome {
  mkdirSync(join(root, 'out', 'model'), { recursive: true });
  mkdirSync(join(root, 'in'), { recursive: true });
  writeFileSync(join(root, 'in', 'data.csv'), `a,b\n1,${jobId}\n`);
  writeFileSync(join(root, 'out', 'model', 'weights.bin'), `weights of ${jobId}`);
  writeFileSync(join(root, 'out', 'metrics.json'), JSON.stringify({ loss: 0.5 }));
  writeFileSync(join(root, 'stdout'), 'done\n');
  writeFileSync(join(root, 'stderr'), '');
  return {
    jobId,
    owner: 'anonymous',
    framework: 'tfjs',
    params: { epochs: 1 },
    metadata: { model_name: 'rollback', model_version: '1.0.0', license_name: 'MIT' },
    inputs: [{ role: 'dataset', name: 'data.csv', path: join(root, 'in', 'data.csv'), digest: '', size: 1 }],
    outputDir: join(root, 'out'),
    stdoutPath: join(root, 'stdout'),
    stderrPath: join(root, 'stderr'),
    exitCode: 0,
    runner: { kind: 'process', isolated: false, command: ['node', 'trainer/main.ts'] },
    queuedAt: '2026-12-05T05:00:00.000Z',
    startedAt: '2026-12-05T05:00:01.000Z',
    finishedAt: new Date().toISOString(),
  };
}

test('a publication failing after the model manifest is stored is rolled back whole', async () => {
  const srv = await startTestServer();
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-rollback-'));
  try {
    const registry = srv.services.registry.as(PLATFORM);
    const loadKey = () => loadPrivateKey(srv.services.config.keysDir, KEY_FILES.platformKey);
    const good = await createPublisher({ target: registry, registryHost: srv.hostPort, loadKey }).publish(
      outcome(join(dir, 'a'), 'job-a'),
    );

    // The same registry, refusing the AIBoM referrer's manifest.
    const failing: OciTarget = Object.create(registry) as OciTarget;
    failing.pushManifest = async (repo, ref, bytes, mediaType) => {
      if (Buffer.from(bytes).toString('utf8').includes(`"artifactType":"${MediaType.cyclonedxJson}"`))
        throw new Error('storage refused the AIBoM');
      return registry.pushManifest(repo, ref, bytes, mediaType);
    };
    const failed = createPublisher({ target: failing, registryHost: srv.hostPort, loadKey });
    let modelDigest = '';
    const steps: string[] = [];
    const pushed: string[] = [];
    failing.pushManifest = ((inner) => async (repo, ref, bytes, mediaType) => {
      const d = await inner(repo, ref, bytes, mediaType);
      if (Buffer.from(bytes).toString('utf8').includes(`"artifactType":"${MediaType.modelManifestArtifact}"`))
        modelDigest = d.digest;
      pushed.push(d.digest);
      return d;
    })(failing.pushManifest);
    await assert.rejects(
      failed.publish(outcome(join(dir, 'b'), 'job-b'), (s) => steps.push(s)),
      /storage refused the AIBoM/,
    );
    assert.deepEqual(steps, ['attesting', 'publishing']);
    assert.ok(modelDigest, 'the model manifest had been stored before the failure');

    await srv.services.lineage.idle();
    assert.equal(await registry.getManifest('models/rollback', modelDigest), undefined, 'the model manifest is gone');
    assert.deepEqual(await registry.referrers('models/rollback', modelDigest), [], 'no referrer is left');
    const tags = await registry.tags('models/rollback');
    assert.ok(
      !tags.some((t) => t.startsWith(modelDigest.replace(':', '-'))),
      `no signature or fallback tag: ${tags.join(', ')}`,
    );
    assert.equal(
      (await registry.getManifest('models/rollback', '1.0.0'))?.digest,
      good.digest,
      'the earlier version tag is untouched',
    );
    const versions = await srv.services.db
      .selectFrom('lineage_versions')
      .select('digest')
      .where('repo', '=', 'models/rollback')
      .execute();
    assert.deepEqual(
      versions.map((v) => v.digest),
      [good.digest],
      'the lineage index lists no half-published version',
    );
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
