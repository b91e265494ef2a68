/**
 * The Keras trainer (`python -m keras_trainer`, trainer/keras_trainer/) outside a container: it trains the
 * sample datasets (tabular CSV, image zip, TFRecord) with real `.keras` models, writes the same output contract
 * and progress lines as the TF.js trainer, and the `.keras` it writes loads in real Keras and scores above
 * chance on held-out data it never saw. The same seed gives identical weights.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorRecordSchema, metricsSchema, progressLineSchema, type ProgressLine } from '../../schema/trainer.ts';
import { writeSampleInput } from '../../trainer/samples/generate.ts';
import { ROOT, tempDir } from './trainer-process.ts';

const PY = join(ROOT, '.tools/venv-keras/bin/python');
const env = { ...process.env, PYTHONPATH: join(ROOT, 'trainer'), KERAS_BACKEND: 'jax', JAX_PLATFORMS: 'cpu' };

interface Run {
  code: number | null;
  lines: ProgressLine[];
  stderr: string;
  out: string;
  files: string[];
}

async function runKeras(input: string): Promise<Run> {
  const out = await tempDir('keras-out');
  const child = spawn(PY, ['-m', 'keras_trainer', '--input', input, '--output', out], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  // Every stdout line must be a progress line of the shared contract (the parse asserts it).
  const lines = stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => progressLineSchema.parse(JSON.parse(l)));
  const files = existsSync(out) ? (await readdir(out, { recursive: true })).map(String).sort() : [];
  return { code, lines, stderr, out, files };
}

/** A sample input dir whose model is a real Keras 3 `.keras` (trainer/samples/keras, written by Keras). */
async function kerasInput(
  kind: 'csv' | 'images' | 'tfrecord',
  seed: number,
  params: Record<string, unknown>,
): Promise<string> {
  const dir = await tempDir(`keras-${kind}`);
  await writeSampleInput(dir, kind, { samples: kind === 'images' ? 400 : 1000, seed, params });
  await rm(join(dir, 'model/model.json'));
  await copyFile(
    join(ROOT, `trainer/samples/keras/${kind === 'images' ? 'cnn' : 'mlp'}.keras`),
    join(dir, 'model/m.keras'),
  );
  if (kind === 'images') {
    // cnn.keras has 10 outputs; the sample's 4 classes are numeric folder names, i.e. class indices 0..3.
    const def = join(dir, 'dataset_definition.yaml');
    await writeFile(def, (await readFile(def, 'utf8')).replace(/output_shape:\n {2}- 4/, 'output_shape:\n  - 10'));
  }
  return dir;
}

/** Loads the written `.keras` in Keras and scores it on a held-out input dir (read by the trainer's own loader). */
function heldOutAccuracy(modelFile: string, heldOut: string): number {
  const py = `
import sys, numpy as np, keras
from keras_trainer.contract import read_definition
from keras_trainer.datasets import load_dataset
from keras_trainer.inputs import locate_dataset
m = keras.saving.load_model(sys.argv[1])
d = read_definition(sys.argv[2]); ds = load_dataset(locate_dataset(sys.argv[2]), d)
p = m.predict(ds.x, verbose=0)
acc = ((p[:, 0] > 0.5) == (ds.y[:, 0] > 0.5)).mean() if p.shape[1] == 1 else (p.argmax(1) == ds.y.argmax(1)).mean()
print(float(acc))`;
  const r = spawnSync(PY, ['-c', py, modelFile, heldOut], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim().split('\n').pop());
}

async function trainsAboveChance(kind: 'csv' | 'images' | 'tfrecord', epochs: number, chance: number): Promise<Run> {
  const run = await runKeras(await kerasInput(kind, 1, { epochs, seed: 3 }));
  assert.equal(run.code, 0, `keras trainer failed:\n${run.stderr}`);
  assert.deepEqual(run.files, ['logs.txt', 'metrics.json', 'model', 'model/model.keras']);
  assert.equal(run.lines[0]?.type, 'start');
  assert.equal(run.lines.at(-1)?.type, 'done');
  assert.equal(run.lines.filter((l) => l.type === 'epoch').length, epochs);
  const metrics = metricsSchema.parse(JSON.parse(await readFile(join(run.out, 'metrics.json'), 'utf8')));
  assert.equal(metrics.backend, 'keras-jax-cpu', 'the backend is chosen and recorded');
  assert.ok(metrics.versions.keras && metrics.versions.jax);
  assert.equal(metrics.dataset.kind, kind);
  assert.equal(metrics.model.format, 'keras');
  assert.ok(metrics.samples_per_second > 0);
  // Held out: the same generator with another seed, never seen in training.
  const heldOut = await kerasInput(kind, 2, {});
  const acc = heldOutAccuracy(join(run.out, 'model/model.keras'), heldOut);
  assert.ok(acc > chance + 0.15, `${kind}: held-out accuracy ${acc} should be well above chance ${chance}`);
  return run;
}

test('Keras trainer: tabular CSV + mlp.keras; the written .keras scores above chance on held-out rows', async () => {
  await trainsAboveChance('csv', 5, 0.5);
});

test('Keras trainer: image zip + cnn.keras scores above chance on held-out images', async () => {
  await trainsAboveChance('images', 6, 0.25);
});

test('Keras trainer: TFRecord (parsed without TensorFlow) trains like the same rows as CSV', async () => {
  const tfr = await trainsAboveChance('tfrecord', 3, 0.5);
  const csv = await runKeras(await kerasInput('csv', 1, { epochs: 3, seed: 3 }));
  const final = (r: Run) => (r.lines.at(-1)?.type === 'done' ? r.lines.at(-1) : undefined);
  assert.deepEqual(final(tfr), {
    ...final(csv),
    samples_per_second: (final(tfr) as { samples_per_second: number }).samples_per_second,
  });
});

test('Keras trainer: the same seed twice gives identical weights; another seed does not', async () => {
  const a = await runKeras(await kerasInput('csv', 1, { epochs: 2, seed: 11 }));
  const b = await runKeras(await kerasInput('csv', 1, { epochs: 2, seed: 11 }));
  const c = await runKeras(await kerasInput('csv', 1, { epochs: 2, seed: 12 }));
  for (const r of [a, b, c]) assert.equal(r.code, 0, r.stderr);
  const py = `
import sys, numpy as np, keras
w = [keras.saving.load_model(p).get_weights() for p in sys.argv[1:]]
print(all(np.array_equal(x, y) for x, y in zip(w[0], w[1])), all(np.array_equal(x, y) for x, y in zip(w[0], w[2])))`;
  const files = [a, b, c].map((r) => join(r.out, 'model/model.keras'));
  const r = spawnSync(PY, ['-c', py, ...files], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'True False');
});

test('Keras trainer: bad input → error.json in the shared error format, exit 1, nothing else written', async () => {
  const bad = await kerasInput('csv', 1, { epochs: 0 });
  const run = await runKeras(bad);
  assert.equal(run.code, 1);
  assert.deepEqual(run.files, ['error.json']);
  const rec = errorRecordSchema.parse(JSON.parse(await readFile(join(run.out, 'error.json'), 'utf8')));
  assert.equal(rec.code, 'bad_params');
  assert.equal(rec.field, 'epochs');
  assert.deepEqual(run.lines.at(-1), rec);
  // An empty model/ is named as such (a TF.js model.json is trained: test/trainer/keras-tfjs-model.test.ts).
  const empty = await tempDir('keras-empty');
  await writeSampleInput(empty, 'csv', { samples: 50 });
  await rm(join(empty, 'model/model.json'));
  const r2 = await runKeras(empty);
  assert.equal(r2.code, 1);
  const rec2 = errorRecordSchema.parse(JSON.parse(await readFile(join(r2.out, 'error.json'), 'utf8')));
  assert.equal(rec2.code, 'missing_input');
  assert.match(rec2.message, /model\/ holds neither a \.keras file nor model\.json/);
  // A corrupt TFRecord is refused by its CRC.
  const tfr = await kerasInput('tfrecord', 1, { epochs: 1 });
  const bytes = await readFile(join(tfr, 'dataset.tfrecord'));
  bytes[20] = bytes[20]! ^ 0xff;
  await writeFile(join(tfr, 'dataset.tfrecord'), bytes);
  const r3 = await runKeras(tfr);
  assert.equal(r3.code, 1);
  const last = r3.lines.at(-1);
  assert.match(last?.type === 'error' ? last.message : '', /record 0 data CRC mismatch/);
});
