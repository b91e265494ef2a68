/**
 * The `.keras` mapping is faithful: the committed Keras 3 fixtures (MLP; CNN with Rescaling, Conv2D,
 * BatchNormalization, pooling, Dropout) predict the same in TF.js as in Keras itself, and a `.keras` written
 * by the trainer holds exactly the weights TF.js has.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import * as tf from '../../trainer/tf.ts';
import { initBackend } from '../../trainer/backend/index.ts';
import { loadKerasModel } from '../../trainer/keras/load.ts';
import { saveKerasModel } from '../../trainer/outputs/keras.ts';
import { ROOT, tempDir } from './trainer-process.ts';

const KERAS_PY = join(ROOT, '.tools/venv-keras/bin/python');
const haveKeras = existsSync(KERAS_PY);

function kerasPredict(model: string, inputJson: string): number[] {
  const py = [
    'import sys, json, numpy as np, keras',
    'm = keras.models.load_model(sys.argv[1])',
    'x = np.array(json.load(open(sys.argv[2])), dtype="float32")',
    'print(json.dumps(m.predict(x, verbose=0).ravel().tolist()))',
  ].join('\n');
  const r = spawnSync(KERAS_PY, ['-c', py, model, inputJson], {
    encoding: 'utf8',
    env: { ...process.env, KERAS_BACKEND: 'jax' },
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
}

function closeTo(a: number[], b: number[], tol: number): void {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));
  assert.ok(worst < tol, `max |tfjs - keras| = ${worst}`);
}

for (const [name, shape] of [
  ['mlp', [13]],
  ['cnn', [28, 28, 1]],
] as const) {
  test(`${name}.keras predicts the same in TF.js as in Keras`, {
    skip: !haveKeras && 'no .tools/venv-keras',
  }, async () => {
    await initBackend('cpu');
    const file = join(ROOT, `trainer/samples/keras/${name}.keras`);
    const { model } = await loadKerasModel(file);
    const rng = seedrandom('parity');
    const n = 4;
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    const scale = name === 'cnn' ? 255 : 1;
    const data = Array.from({ length: n * size }, () => rng() * scale);
    const x = tf.tensor(data, [n, ...shape] as number[]);
    const ours = Array.from((model.predict(x) as tf.Tensor).dataSync());
    const dir = await tempDir('parity');
    const input = join(dir, 'x.json');
    await writeFile(input, JSON.stringify(await x.array()));
    closeTo(ours, kerasPredict(file, input), 1e-4);

    // Perturb the weights in TF.js, write .keras, and Keras must reproduce TF.js' new predictions.
    model.layers.forEach((l) => l.setWeights(l.getWeights().map((w) => tf.add(w, tf.scalar(0.01)))));
    const after = Array.from((model.predict(x) as tf.Tensor).dataSync());
    const src = await loadKerasModel(file);
    const out = join(dir, 'out.keras');
    await saveKerasModel(model, src, out);
    closeTo(after, kerasPredict(out, input), 1e-4);
  });
}
