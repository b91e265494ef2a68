/**
 * Issue 17 (A): the platform's trainer runs from a self-contained image, by digest, with no host path. The
 * TF.js trainer image tarball is built offline (deterministically), loaded into podman through the Docker API
 * and pushed to the platform's own registry by the runner; a tabular job runs in it; while it runs its
 * container is inspected (no binds, only anonymous volumes, the image id of the pushed config, network none);
 * the AIBoM's trainer-image component names exactly the manifest digest that ran, and lists the npm packages
 * the image itself carries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTfjsTrainerImage } from '../../trainer/image/build-image.ts';
import { PLATFORM } from '../../server/identity.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { inspectWhileRunning, publishedAibom } from './image-helpers.ts';

const podman = await startPodman();
// The TF.js image is what this test is about: no automatic Keras trainer even where its image is built.
const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath, trainerAuto: 'off' });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-image-digest-'));
test.after(async () => {
  await server.close();
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

test('the trainer image tarball is deterministic: the same inputs give the same layer and image id', async () => {
  const a = await ensureTfjsTrainerImage();
  const b = await ensureTfjsTrainerImage(join(work, 'again.tar'));
  assert.equal(b.rebuilt, true, 'a fresh path is built, not reused');
  assert.equal(b.layerDigest, a.layerDigest);
  assert.equal(b.configDigest, a.configDigest);
  assert.equal((await ensureTfjsTrainerImage()).rebuilt, false, 'unchanged inputs: the tarball is kept');
});

test('a tabular job runs the pushed trainer image by digest, with no host path, and the AIBoM names that digest', async () => {
  const tarball = await ensureTfjsTrainerImage();
  const { status, body } = await submit(server.url, await tabularForm(work, { epochs: 40, name: 'by-digest' }));
  assert.equal(status, 202, JSON.stringify(body));
  const { result: job, seen } = await inspectWhileRunning(
    podman.docker,
    body.job_id,
    waitForState(server.url, body.job_id),
  );
  assert.equal(job.status, 'succeeded', job.reason);

  // What ran: the manifest in our registry, whose config is the image the engine created the container from.
  const runner = job.runner!;
  assert.equal(runner.imageId, tarball.configDigest);
  assert.match(runner.imageDigest ?? '', /^sha256:[0-9a-f]{64}$/);
  assert.equal(runner.image, `${server.hostPort}/aibomgen/trainers/tfjs@${runner.imageDigest}`);
  const oci = server.services.registry.as(PLATFORM);
  const manifest = await oci.getManifest('aibomgen/trainers/tfjs', runner.imageDigest!);
  assert.ok(manifest, 'the trainer image is in the platform registry');
  const doc = JSON.parse(Buffer.from(manifest.bytes).toString('utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  assert.equal(doc.config.digest, tarball.configDigest);
  assert.deepEqual(
    doc.layers.map((l) => l.digest),
    [tarball.layerDigest],
  );
  assert.equal((await podman.docker.getImage(tarball.configDigest).inspect()).Id, tarball.configDigest);

  // The container while it ran: no bind, only the two anonymous volumes, isolated.
  assert.equal(seen.length, 1, 'the job container was seen running');
  const c = seen[0]!;
  assert.equal(c.Image, runner.imageId);
  assert.equal(c.HostConfig.NetworkMode, 'none');
  assert.equal(c.HostConfig.ReadonlyRootfs, true);
  // Docker records CapDrop ["ALL"]; podman 4.3 records the default set it dropped.
  const dropped = c.HostConfig.CapDrop ?? [];
  assert.ok(
    dropped.includes('ALL') ||
      ['CHOWN', 'DAC_OVERRIDE', 'SETUID', 'SETGID', 'NET_RAW'].every((x) => dropped.includes(x)),
    `capabilities dropped: ${dropped.join(',')}`,
  );
  assert.equal(c.Config.User, '65534:65534');
  const mounts = c.Mounts as { Type: string; Destination: string; Name?: string }[];
  assert.deepEqual(mounts.map((m) => `${m.Type}:${m.Destination}`).sort(), ['volume:/input', 'volume:/output']);
  // podman lists the anonymous volumes in Binds as `<volume name>:<path>:…`: never a host path.
  for (const b of c.HostConfig.Binds ?? []) assert.doesNotMatch(b, /^\//, `a host path is bound: ${b}`);
  assert.equal(
    (c.HostConfig.Binds ?? []).length,
    mounts.length,
    `binds are the volumes only: ${JSON.stringify(c.HostConfig.Binds)}`,
  );

  // The AIBoM names the image that ran, and the packages in it (not the host's).
  const aibom = await publishedAibom(server, job);
  const image = aibom.components.find((x) => x['bom-ref'] === 'trainer-image');
  assert.equal(image?.name, runner.image);
  assert.deepEqual(image?.hashes, [{ alg: 'SHA-256', content: runner.imageDigest!.slice(7) }]);
  const core = aibom.components.find((x) => x.purl === 'pkg:npm/%40tensorflow/tfjs-core@4.22.0');
  assert.ok(core, `tfjs-core from the image: ${aibom.components.map((x) => x.purl ?? x.name).join(', ')}`);
  assert.deepEqual(core.properties, [
    { name: 'aibomgen:image_path', value: '/opt/trainer/node_modules/@tensorflow/tfjs-core/package.json' },
  ]);
});
