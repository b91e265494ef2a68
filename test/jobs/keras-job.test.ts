/**
 * Issue 17: a job with `framework: keras` runs the platform's Keras trainer from its own image (built offline by
 * trainer/image/build-keras.sh, loaded through the Docker API, pushed to the platform's registry and run by
 * digest, no host path), publishes a `.keras` model that loads in real Keras and scores above chance on held-out
 * rows, and its AIBoM lists the image's own Python packages (keras, jax) — not the host's.
 * The first build of the image takes minutes on a fresh machine (mmdebstrap + wheels); later runs reuse it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLATFORM } from '../../server/identity.ts';
import { writeTabularCsv } from '../../trainer/samples/generate.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { publishedAibom } from './image-helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
const PY = join(ROOT, '.tools/venv-keras/bin/python');

const podman = await startPodman();
const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-keras-job-'));
test.after(async () => {
  await server.close();
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

test('framework keras: the Keras image runs by digest and the published .keras scores above chance', async () => {
  const form = await tabularForm(work, {
    samples: 1000,
    epochs: 8,
    name: 'keras-tabular',
    extra: { framework: 'keras' },
  });
  form.set('model', new Blob([await readFile(join(ROOT, 'trainer/samples/keras/mlp.keras'))]), 'mlp.keras');
  const { status, body } = await submit(server.url, form);
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);
  const runner = job.runner!;
  assert.equal(runner.image, `${server.hostPort}/aibomgen/trainers/keras@${runner.imageDigest}`);

  // The published model file, read back from the registry, loads in real Keras.
  const oci = server.services.registry.as(PLATFORM);
  const pub = job.publication!;
  const m = await oci.getManifest(pub.repository, pub.digest);
  const layers = (
    JSON.parse(Buffer.from(m!.bytes).toString('utf8')) as {
      layers: { digest: string; annotations?: Record<string, string> }[];
    }
  ).layers;
  const keras = layers.find((l) => l.annotations?.['org.opencontainers.image.title']?.endsWith('.keras'));
  assert.ok(keras, `a .keras layer: ${JSON.stringify(layers.map((l) => l.annotations))}`);
  const modelFile = join(work, 'published.keras');
  await writeFile(modelFile, await oci.fetchBlob(pub.repository, keras.digest));
  const heldOut = join(work, 'held-out.csv');
  await writeTabularCsv(heldOut, 500, 7); // another seed: rows the job never saw
  const py = `
import sys, numpy as np, keras
m = keras.saving.load_model(sys.argv[1])
d = np.loadtxt(sys.argv[2], delimiter=',', skiprows=1)
p = m.predict(d[:, :-1], verbose=0)[:, 0]
print(float(((p > 0.5) == (d[:, -1] > 0.5)).mean()))`;
  const acc = Number(
    execFileSync(PY, ['-c', py, modelFile, heldOut], {
      encoding: 'utf8',
      env: { ...process.env, KERAS_BACKEND: 'jax' },
    })
      .trim()
      .split('\n')
      .pop(),
  );
  assert.ok(acc > 0.65, `held-out accuracy ${acc} should be well above chance 0.5`);

  // The AIBoM lists the packages of the image that ran (pip's dist-info in it), e.g. keras and jax.
  const aibom = await publishedAibom(server, job);
  const purls = aibom.components.map((c) => c.purl ?? '');
  assert.ok(purls.includes('pkg:pypi/keras@3.15.1'), purls.join(', '));
  assert.ok(purls.includes('pkg:pypi/jax@0.10.2'), purls.join(', '));
});
