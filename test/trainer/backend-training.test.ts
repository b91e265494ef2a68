/**
 * Trainer backends, whole models on wasm: every supported layer kind's weight gradients against the cpu backend,
 * training a small CNN, no leaks across epochs, and seeding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '../../trainer/tf.ts';
import { initBackend } from '../../trainer/backend/index.ts';
import { seedEverything } from '../../trainer/backend/seed.ts';
import { randomValues } from './backend-helpers.ts';

/** Gradients of every trainable weight of one model, built identically (same seed) on the given backend. */
async function modelGrads(backend: string): Promise<Map<string, Float32Array>> {
  assert.ok(await tf.setBackend(backend));
  seedEverything(5);
  const model = tf.sequential({
    layers: [
      tf.layers.rescaling({ inputShape: [12, 12, 2], scale: 0.5, offset: -0.25 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }),
      tf.layers.batchNormalization(),
      tf.layers.activation({ activation: 'relu' }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.conv2d({ filters: 3, kernelSize: 2, activation: 'tanh' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tf.layers.conv2d({ filters: 3, kernelSize: 1 }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.dense({ units: 3, activation: 'softmax' }),
    ],
  });
  const x = tf.randomUniform([6, 12, 12, 2], -1, 1);
  const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
  const { value, grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
  );
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads)) out.set(name, (await g.data()) as Float32Array);
  tf.dispose([x, y, value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

test('every layer kind the trainer supports gets the same weight gradients on wasm as on cpu', async () => {
  await initBackend();
  const cpu = await modelGrads('cpu');
  const wasm = await modelGrads('wasm');
  assert.equal(wasm.size, cpu.size);
  assert.equal(cpu.size, 10, `expected kernels, biases, gamma/beta: ${[...cpu.keys()].join(', ')}`);
  const cpuList = [...cpu.values()];
  const wasmList = [...wasm.values()];
  const names = [...cpu.keys()];
  cpuList.forEach((c, j) => {
    const w = wasmList[j] as Float32Array;
    assert.equal(w.length, c.length);
    for (let i = 0; i < c.length; i++) {
      const diff = Math.abs((c[i] as number) - (w[i] as number));
      // conv biases in front of BatchNormalization have a true gradient of ~0: absolute tolerance for those
      assert.ok(diff <= 1e-6 + 1e-4 * Math.abs(c[i] as number), `${names[j]}[${i}]: cpu ${c[i]} wasm ${w[i]}`);
    }
  });
});

/** Stripes: class 0 horizontal, class 1 vertical, with noise; 12×12×1. */
function stripes(n: number): { xs: tf.Tensor4D; ys: tf.Tensor2D } {
  const px = new Float32Array(n * 144);
  const labels = new Float32Array(n * 2);
  const noise = randomValues(n * 144, 99);
  for (let k = 0; k < n; k++) {
    const cls = k % 2;
    const phase = k % 3;
    for (let i = 0; i < 12; i++) {
      for (let j = 0; j < 12; j++) {
        const on = ((cls === 0 ? i : j) + phase) % 3 === 0 ? 1 : 0;
        px[k * 144 + i * 12 + j] = on + (noise[k * 144 + i * 12 + j] as number) * 0.6;
      }
    }
    labels[k * 2 + cls] = 1;
  }
  return { xs: tf.tensor4d(px, [n, 12, 12, 1]), ys: tf.tensor2d(labels, [n, 2]) };
}

test('a small CNN (strided and same-padded convolutions, pooling) trains on wasm', async () => {
  await initBackend();
  assert.ok(await tf.setBackend('wasm'));
  seedEverything(1234);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const { xs, ys } = stripes(256);
  try {
    const h = await model.fit(xs, ys, { epochs: 8, batchSize: 32, validationSplit: 0.25, shuffle: true, verbose: 0 });
    const loss = h.history.loss as number[];
    const valAcc = h.history.val_acc as number[];
    assert.ok((loss.at(-1) as number) < (loss[0] as number) * 0.5, `loss did not fall: ${loss.join(', ')}`);
    assert.ok((valAcc.at(-1) as number) >= 0.9, `validation accuracy ${valAcc.join(', ')}`);
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
  }
});

test('training on wasm does not leak: tensor count and wasm heap stay flat across epochs', async () => {
  await initBackend();
  assert.ok(await tf.setBackend('wasm'));
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same' }),
      tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 2, activation: 'relu' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
  const { xs, ys } = stripes(128);
  const heapBytes = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  try {
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, verbose: 0 });
    const before = { tensors: tf.memory().numTensors, ids: tf.engine().backend.numDataIds(), heap: heapBytes() };
    await model.fit(xs, ys, { epochs: 6, batchSize: 16, verbose: 0 });
    assert.deepEqual(
      { tensors: tf.memory().numTensors, ids: tf.engine().backend.numDataIds(), heap: heapBytes() },
      before,
    );
  } finally {
    tf.dispose([xs, ys]);
    model.dispose();
  }
});

test('seedEverything makes fit (shuffling, initializers) bit-identical on wasm', async () => {
  await initBackend();
  assert.ok(await tf.setBackend('wasm'));
  const run = async (): Promise<Float32Array[]> => {
    seedEverything('same-seed');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 2, activation: 'softmax' }),
      ],
    });
    model.compile({ optimizer: 'adam', loss: 'categoricalCrossentropy' });
    const { xs, ys } = stripes(64);
    await model.fit(xs, ys, { epochs: 2, batchSize: 16, shuffle: true, verbose: 0 });
    const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
    tf.dispose([xs, ys]);
    model.dispose();
    return weights;
  };
  const a = await run();
  const b = await run();
  assert.deepEqual(a, b);
});
