/**
 * Issue #17 line 6, the Python side of the automatic Keras trainer: TF.js layers models built with tfjs here are
 * loaded by the Keras trainer (trainer/keras_trainer/tfjs_model.py, outside a container) with their weights, predict
 * what TF.js predicts, train, and come back as model.json + weights.bin that tfjs-layers' loadLayersModel reads and
 * that scores above chance on held-out data. Same seed → same weights. A layer without an exact Keras twin is
 * refused by the loader and makes the server's choice (trainer-choice.ts) fall back to the TF.js trainer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { metricsSchema } from '../../schema/trainer.ts';
import { decideTrainer, probeModel, TFJS_KERAS_LAYERS } from '../../server/jobs/runners/trainer-choice.ts';
import { initBackend } from '../../trainer/backend/index.ts';
import { loadDataset } from '../../trainer/datasets/index.ts';
import { readDefinition } from '../../trainer/inputs/definition.ts';
import { locateDataset } from '../../trainer/inputs/locate.ts';
import { saveTfjsModel } from '../../trainer/outputs/tfjs.ts';
import { writeSampleInput } from '../../trainer/samples/generate.ts';
import * as tf from '../../trainer/tf.ts';
import { ROOT, tempDir } from './trainer-process.ts';

const PY = join(ROOT, '.tools/venv-keras/bin/python');
const env = { ...process.env, PYTHONPATH: join(ROOT, 'trainer'), KERAS_BACKEND: 'jax', JAX_PLATFORMS: 'cpu' };
const skip = !existsSync(PY) && 'no .tools/venv-keras (scripts/setup.sh)';

function python(code: string, args: string[]): string {
  const r = spawnSync(PY, ['-c', code, ...args], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').pop() ?? '';
}

async function runKeras(input: string): Promise<{ code: number | null; out: string; stderr: string }> {
  const out = await tempDir('tfjs-keras-out');
  const child = spawn(PY, ['-m', 'keras_trainer', '--input', input, '--output', out, '--trainer-choice', 'auto'], {
    env,
  });
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, out, stderr };
}

/** A TF.js model built and briefly trained here (so its manifest also holds Adam's slots), saved as files. */
function mlp(): tf.LayersModel {
  const m = tf.sequential({ name: 'mlp' });
  m.add(tf.layers.dense({ units: 32, activation: 'relu', inputShape: [13] }));
  m.add(tf.layers.dropout({ rate: 0.1 }));
  m.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return m;
}
function cnn(): tf.LayersModel {
  const m = tf.sequential({ name: 'cnn' });
  m.add(tf.layers.rescaling({ scale: 1 / 255, inputShape: [28, 28, 1] }));
  m.add(tf.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'relu' }));
  m.add(tf.layers.batchNormalization());
  m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 4, activation: 'softmax' }));
  return m;
}

async function tfjsModelInput(kind: 'csv' | 'images', build: () => tf.LayersModel, seed: number): Promise<string> {
  await initBackend('cpu');
  const dir = await tempDir(`tfjs-keras-${kind}`);
  await writeSampleInput(dir, kind, { samples: kind === 'images' ? 400 : 1000, seed: 1, params: { epochs: 6, seed } });
  seedrandom(`tfjs-${kind}-${seed}`, { global: true }); // tfjs initialisers draw from Math.random: one model per seed
  const model = build();
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const out = model.outputs[0]!.shape[1]!;
  model.compile({
    optimizer: 'adam',
    loss: out === 1 ? 'binaryCrossentropy' : 'categoricalCrossentropy',
    metrics: ['accuracy'],
  });
  await model.fit(tf.randomUniform([8, ...shape]), tf.randomUniform([8, out]), { epochs: 1, verbose: 0 });
  await saveTfjsModel(model, join(dir, 'model'));
  return dir;
}

/** The same inputs predicted by tfjs-layers (loadLayersModel) and by Keras through the trainer's loader. */
async function samePredictions(modelDir: string, shape: number[]): Promise<void> {
  const model = await loadLayers(modelDir);
  const rng = seedrandom('same');
  const size = shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(
    Array.from({ length: 4 * size }, () => rng() * (shape.length > 1 ? 255 : 2)),
    [4, ...shape],
  );
  const ours = Array.from((model.predict(x) as tf.Tensor).dataSync());
  const xFile = join(modelDir, '..', 'x.json');
  await writeFile(xFile, JSON.stringify(await x.array()));
  const py = `
import sys, json, numpy as np
from keras_trainer.tfjs_model import load_tfjs_model
m = load_tfjs_model(sys.argv[1]).model
print(json.dumps(m.predict(np.array(json.load(open(sys.argv[2])), dtype="float32"), verbose=0).ravel().tolist()))`;
  const theirs = JSON.parse(python(py, [join(modelDir, 'model.json'), xFile])) as number[];
  const worst = Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]!)));
  assert.ok(worst < 1e-4, `max |tfjs - keras| = ${worst}`);
}

/** tfjs-layers' own loader over the files (model.json + the shards it names). */
async function loadLayers(dir: string): Promise<tf.LayersModel> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: tf.io.ModelArtifacts['modelTopology'];
    trainingConfig?: tf.io.TrainingConfig;
    weightsManifest: tf.io.WeightsManifestConfig;
  };
  const bytes = Buffer.concat(
    await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(join(dir, p))))),
  );
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
}

async function heldOutAccuracy(model: tf.LayersModel, kind: 'csv' | 'images'): Promise<number> {
  const dir = await tempDir(`tfjs-keras-held-${kind}`);
  await writeSampleInput(dir, kind, { samples: kind === 'images' ? 200 : 500, seed: 2 }); // rows never trained on
  const ds = await loadDataset(locateDataset(dir), await readDefinition(dir));
  const p = (model.predict(tf.tensor(ds.xs, [ds.n, ...ds.inputShape])) as tf.Tensor).arraySync() as number[][];
  let right = 0;
  for (let i = 0; i < ds.n; i++) {
    const y = Array.from(ds.ys.subarray(i * ds.outputSize, (i + 1) * ds.outputSize));
    const row = p[i]!;
    right += ds.outputSize === 1 ? Number(row[0]! > 0.5 === y[0]! > 0.5) : Number(argmax(row) === argmax(y));
  }
  return right / ds.n;
}
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

test('the server and the Keras trainer accept the same layer classes', { skip }, () => {
  const py =
    'import json\nfrom keras_trainer.tfjs_model import SUPPORTED_LAYERS\nprint(json.dumps(sorted(SUPPORTED_LAYERS)))';
  assert.deepEqual(JSON.parse(python(py, [])), [...TFJS_KERAS_LAYERS].sort());
});

for (const [kind, build, shape, chance] of [
  ['csv', mlp, [13], 0.5],
  ['images', cnn, [28, 28, 1], 0.25],
] as const) {
  test(`a TF.js ${kind === 'csv' ? 'MLP' : 'CNN'} loads in Keras exactly, trains, and the TF.js output scores above chance`, {
    skip,
  }, async () => {
    const input = await tfjsModelInput(kind, build, 3);
    await samePredictions(join(input, 'model'), [...shape]);
    assert.deepEqual(await probeModel(input), { kind: 'tfjs' });
    const run = await runKeras(input);
    assert.equal(run.code, 0, run.stderr);
    // The TF.js trainer's output contract: model.json + weights.bin, metrics.json, logs.txt.
    assert.deepEqual((await readdir(run.out, { recursive: true })).map(String).sort(), [
      'logs.txt',
      'metrics.json',
      'model',
      'model/model.json',
      'model/weights.bin',
    ]);
    const metrics = metricsSchema.parse(JSON.parse(await readFile(join(run.out, 'metrics.json'), 'utf8')));
    assert.equal(metrics.model.format, 'tfjs');
    // Metric names as the TF.js trainer logs them (tfjs-layers says `acc`), so readers of either find them.
    assert.deepEqual(Object.keys(metrics.final).sort(), ['acc', 'loss', 'val_acc', 'val_loss']);
    assert.match(await readFile(join(run.out, 'logs.txt'), 'utf8'), /chosen automatically/);
    const trained = await loadLayers(join(run.out, 'model'));
    assert.ok(trained.optimizer, 'the training config came along: the loaded model is compiled');
    // The submitted model's own compile config (tfjs trainingConfig: Adam, its loss) was kept, as tfjs keeps it.
    const written = JSON.parse(await readFile(join(run.out, 'model/model.json'), 'utf8'));
    assert.equal(written.trainingConfig.optimizer_config.class_name, 'Adam');
    assert.equal(written.trainingConfig.loss, kind === 'csv' ? 'binary_crossentropy' : 'categorical_crossentropy');
    const acc = await heldOutAccuracy(trained, kind);
    assert.ok(acc > chance + 0.15, `${kind}: held-out accuracy ${acc} should be well above chance ${chance}`);
  });
}

test('a .keras model chosen automatically also gets the TF.js files the TF.js trainer writes for it', {
  skip,
}, async () => {
  const dir = await tempDir('tfjs-keras-dotkeras');
  await writeSampleInput(dir, 'csv', { samples: 300, params: { epochs: 2 } });
  await rm(join(dir, 'model/model.json'));
  await copyFile(join(ROOT, 'trainer/samples/keras/mlp.keras'), join(dir, 'model/mlp.keras'));
  assert.deepEqual(await probeModel(dir), { kind: 'keras' });
  const r = await runKeras(dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((await readdir(join(r.out, 'model'))).sort(), ['model.json', 'model.keras', 'weights.bin']);
  // The TF.js files hold the trained weights of the .keras: both predict the same.
  const model = await loadLayers(join(r.out, 'model'));
  const rng = seedrandom('dotkeras');
  const x = tf.tensor(
    Array.from({ length: 4 * 13 }, () => rng()),
    [4, 13],
  );
  const ours = Array.from((model.predict(x) as tf.Tensor).dataSync());
  const xFile = join(dir, 'x.json');
  await writeFile(xFile, JSON.stringify(await x.array()));
  const py = `
import sys, json, numpy as np, keras
m = keras.saving.load_model(sys.argv[1])
print(json.dumps(m.predict(np.array(json.load(open(sys.argv[2])), dtype="float32"), verbose=0).ravel().tolist()))`;
  const theirs = JSON.parse(python(py, [join(r.out, 'model/model.keras'), xFile])) as number[];
  assert.ok(Math.max(...ours.map((v, i) => Math.abs(v - theirs[i]!))) < 1e-5);
  // And that model.json (an InputLayer first, as tfjs writes a converted .keras) reads back into Keras too.
  await samePredictions(join(r.out, 'model'), [13]);
});

test('the same seed gives identical TF.js weights; another seed does not', { skip }, async () => {
  const runs = [];
  for (const seed of [11, 11, 12]) {
    const dir = await tempDir('tfjs-keras-seed');
    await writeSampleInput(dir, 'csv', { samples: 300, params: { epochs: 2, seed } });
    const r = await runKeras(dir);
    assert.equal(r.code, 0, r.stderr);
    runs.push(await readFile(join(r.out, 'model/weights.bin')));
  }
  assert.ok(runs[0]!.equals(runs[1]!), 'seed 11 twice: the same bytes');
  assert.ok(!runs[0]!.equals(runs[2]!), 'seed 12: other weights');
});

test('an unsupported layer: the loader refuses it and the choice falls back to the TF.js trainer', {
  skip,
}, async () => {
  const dir = await tempDir('tfjs-keras-lstm');
  await writeSampleInput(dir, 'csv', { samples: 100 });
  const doc = JSON.parse(await readFile(join(dir, 'model/model.json'), 'utf8'));
  doc.modelTopology.config.layers.splice(1, 0, { class_name: 'LSTM', config: { name: 'lstm_1', units: 4 } });
  await writeFile(join(dir, 'model/model.json'), JSON.stringify(doc));
  const probe = await probeModel(dir);
  assert.deepEqual(probe, { kind: 'tfjs', unsupported: 'LSTM (lstm_1)' });
  const d = decideTrainer({ requested: 'tfjs', auto: 'keras', model: probe, imagePresent: true });
  assert.equal(d.framework, 'tfjs');
  assert.equal(d.choice, 'requested');
  assert.match(d.reason, /LSTM \(lstm_1\) has no exact Keras equivalent/);
  const r = await runKeras(dir);
  assert.equal(r.code, 1);
  const rec = JSON.parse(await readFile(join(r.out, 'error.json'), 'utf8'));
  assert.equal(rec.code, 'unsupported_layer');
  assert.match(rec.message, /LSTM \(lstm_1\)/);
  // Everything else allowing it, the choice is Keras; off, a .keras model or no image keep TF.js.
  const ok = { requested: 'tfjs', auto: 'keras', model: { kind: 'tfjs' }, imagePresent: true } as const;
  assert.deepEqual(decideTrainer(ok).framework, 'keras');
  assert.equal(decideTrainer({ ...ok, auto: 'off' }).framework, 'tfjs');
  assert.equal(decideTrainer({ ...ok, imagePresent: false }).framework, 'tfjs');
  assert.equal(decideTrainer({ ...ok, model: { kind: 'keras' } }).framework, 'keras');
  assert.equal(decideTrainer({ ...ok, model: { kind: 'other', detail: 'no model' } }).framework, 'tfjs');
  assert.equal(decideTrainer({ ...ok, requested: 'keras' }).choice, 'requested');
});

test('bad weights are refused by name: traversal, wrong dtype, size mismatch', { skip }, async () => {
  const input = await tfjsModelInput('csv', mlp, 3);
  const file = join(input, 'model/model.json');
  const good = await readFile(file, 'utf8');
  const cases: [(d: { weightsManifest: { paths: string[]; weights: Record<string, unknown>[] }[] }) => void, RegExp][] =
    [
      [(d) => (d.weightsManifest[0]!.paths = ['../dataset.csv']), /weight path '..\/dataset.csv' leaves model\//],
      [(d) => (d.weightsManifest[0]!.weights[0]!.dtype = 'int32'), /has dtype int32; expected float32/],
      [(d) => (d.weightsManifest[0]!.weights[0]!.quantization = { dtype: 'uint8' }), /is quantised/],
      [(d) => (d.weightsManifest[0]!.weights[1]!.shape = [33]), /shards hold|runs past the end/],
    ];
  for (const [edit, want] of cases) {
    const d = JSON.parse(good);
    edit(d);
    await writeFile(file, JSON.stringify(d));
    const r = await runKeras(input);
    assert.equal(r.code, 1, r.stderr);
    const rec = JSON.parse(await readFile(join(r.out, 'error.json'), 'utf8'));
    assert.equal(rec.code, 'bad_model');
    assert.match(rec.message, want);
  }
});
