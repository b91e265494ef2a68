/**
 * Issue #17 line 6: a job submitted with `framework: tfjs` and a TF.js model.json runs on the Keras trainer's
 * image when that image is built (AIBOMGEN_TRAINER_AUTO defaults to keras), through the docker runner on podman.
 * The job records what ran (trainer keras, chosen automatically; the Keras image digest in the runner record and
 * the AIBoM), and the published model is the TF.js trainer's output form: model.json + weights.bin that
 * tfjs-layers loads and that scores above chance on held-out rows.
 * The Keras image comes from trainer/image/build-keras.sh (cached under ~/.cache/aibomgen; built here if missing —
 * the platform itself never builds it for this choice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLATFORM } from '../../server/identity.ts';
import { initBackend } from '../../trainer/backend/index.ts';
import { ensureKerasTrainerImage } from '../../trainer/image/keras-image.ts';
import { tabularRows } from '../../trainer/samples/generate.ts';
import * as tf from '../../trainer/tf.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { publishedAibom } from './image-helpers.ts';

await ensureKerasTrainerImage();
const podman = await startPodman();
const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-auto-keras-'));
test.after(async () => {
  await server.close();
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

test('framework tfjs + a TF.js model: the Keras image runs it, says so, and the published TF.js model loads', async () => {
  const form = await tabularForm(work, { samples: 1000, epochs: 8, name: 'auto-keras', extra: { framework: 'tfjs' } });
  const { status, body } = await submit(server.url, form);
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);

  // What ran, as recorded: the framework asked for is kept, the trainer and how it was chosen are the runner's.
  assert.equal(job.framework, 'tfjs');
  assert.equal(job.trainer, 'keras');
  assert.equal(job.trainerChoice, 'auto');
  // The same through GraphQL.
  const gql = (await (
    await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ job(id: "${job.job_id}") { framework trainer trainerChoice } }` }),
    })
  ).json()) as { data?: { job: { framework: string; trainer: string; trainerChoice: string } } };
  assert.deepEqual(gql.data?.job, { framework: 'tfjs', trainer: 'keras', trainerChoice: 'auto' });
  const runner = job.runner!;
  assert.equal(runner.framework, 'keras');
  assert.equal(runner.trainerChoice, 'auto');
  assert.equal(runner.image, `${server.hostPort}/aibomgen/trainers/keras@${runner.imageDigest}`);
  assert.deepEqual(runner.command.slice(-2), ['--trainer-choice', 'auto']);
  const final = (job.metrics as { final?: Record<string, number> } | undefined)?.final ?? {};
  assert.ok(final.acc !== undefined && final.val_acc !== undefined, `TF.js metric names: ${JSON.stringify(final)}`);
  const logs = await server.services.jobs.storedLogLines(job.job_id);
  assert.ok(
    logs.some((l) => l.startsWith('[aibomgen] trainer keras, chosen automatically')),
    logs.slice(0, 5).join('\n'),
  );

  // The AIBoM names the Keras image by its digest, lists its Python packages, and the command that says "auto".
  const aibom = (await publishedAibom(server, job)) as Awaited<ReturnType<typeof publishedAibom>> & {
    formulation: { workflows: { properties: { name: string; value: string }[] }[] }[];
  };
  const image = aibom.components.find((c) => c['bom-ref'] === 'trainer-image');
  assert.equal(image?.name, runner.image);
  assert.equal(image?.hashes?.[0]?.content, runner.imageDigest!.replace(/^sha256:/, ''));
  assert.ok(aibom.components.some((c) => c.purl === 'pkg:pypi/keras@3.15.1'));
  const props = aibom.formulation[0]!.workflows[0]!.properties;
  assert.match(
    props.find((p) => p.name === 'aibomgen:command')?.value ?? '',
    /keras_trainer .* --trainer-choice auto$/,
  );
  assert.equal(props.find((p) => p.name === 'aibomgen:trainer')?.value, 'keras');
  assert.equal(props.find((p) => p.name === 'aibomgen:trainer_choice')?.value, 'auto');

  // The published model: the TF.js trainer's file names, loaded by tfjs-layers, above chance on unseen rows.
  const oci = server.services.registry.as(PLATFORM);
  const pub = job.publication!;
  const m = await oci.getManifest(pub.repository, pub.digest);
  const layers = (
    JSON.parse(Buffer.from(m!.bytes).toString('utf8')) as {
      layers: { digest: string; annotations?: Record<string, string> }[];
    }
  ).layers;
  const file = (name: string) => {
    const l = layers.find((x) => x.annotations?.['org.opencontainers.image.title']?.endsWith(name));
    assert.ok(l, `a ${name} layer: ${JSON.stringify(layers.map((x) => x.annotations))}`);
    return oci.fetchBlob(pub.repository, l.digest);
  };
  const modelJson = JSON.parse(Buffer.from(await file('model.json')).toString('utf8')) as {
    modelTopology: tf.io.ModelArtifacts['modelTopology'];
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  assert.deepEqual(
    modelJson.weightsManifest.map((g) => g.paths),
    [['weights.bin']],
  );
  const weights = Buffer.from(await file('weights.bin'));
  await initBackend('cpu');
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: modelJson.modelTopology,
      weightSpecs: modelJson.weightsManifest.flatMap((g) => g.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  const rows = tabularRows(500, 7); // another seed: rows the job never saw
  const p = (model.predict(tf.tensor2d(rows.map((r) => r.x))) as tf.Tensor).dataSync();
  const acc = rows.filter((r, i) => p[i]! > 0.5 === r.label > 0.5).length / rows.length;
  assert.ok(acc > 0.65, `held-out accuracy ${acc} should be well above chance 0.5`);
});

test('a model Keras refuses while TF.js takes it: the job falls back to the TF.js trainer and says why', async () => {
  const form = await tabularForm(work, {
    samples: 300,
    epochs: 2,
    name: 'auto-fallback',
    extra: { framework: 'tfjs' },
  });
  // An option Keras' Dense does not know (tfjs-layers ignores it): the server's layer check passes, Keras' loader fails.
  const model = JSON.parse(await (form.get('model') as Blob).text());
  model.modelTopology.config.layers[1].config.tfjs_only_option = true;
  form.set('model', new Blob([JSON.stringify(model)], { type: 'application/json' }), 'model.json');
  const { status, body } = await submit(server.url, form);
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.trainer, 'tfjs');
  assert.equal(job.trainerChoice, 'requested');
  assert.equal(job.runner?.image, `${server.hostPort}/aibomgen/trainers/tfjs@${job.runner?.imageDigest}`);
  const logs = await server.services.jobs.storedLogLines(job.job_id);
  assert.ok(
    logs.some((l) =>
      /^\[aibomgen\] trainer keras refused the model \(model\/model.json: Keras could not build/.test(l),
    ),
    logs.filter((l) => l.startsWith('[aibomgen]')).join('\n'),
  );
});
