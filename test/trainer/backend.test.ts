/**
 * Trainer backends: the wasm Conv2D, Conv2DTranspose and pooling gradients (built from forward convolutions)
 * against the cpu backend's own gradient kernels, and backend selection. Whole-model gradients, training and
 * seeding on wasm are in backend-training.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '../../trainer/tf.ts';
import { initBackend } from '../../trainer/backend/index.ts';
import { randomValues } from './backend-helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

type Pad = 'same' | 'valid';
interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const cases: Case[] = [
  { x: [2, 7, 7, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { x: [2, 7, 7, 3], w: [3, 3, 3, 4], strides: 1, pad: 'valid' },
  { x: [2, 8, 9, 3], w: [3, 2, 3, 5], strides: 2, pad: 'same' },
  { x: [2, 9, 8, 2], w: [3, 3, 2, 4], strides: 2, pad: 'valid' },
  { x: [1, 10, 11, 1], w: [2, 3, 1, 2], strides: [3, 2], pad: 'valid' },
  { x: [1, 10, 11, 1], w: [5, 3, 1, 2], strides: [3, 2], pad: 'same' },
  { x: [3, 6, 6, 4], w: [1, 1, 4, 3], strides: 3, pad: 'valid' },
  { x: [2, 5, 5, 2], w: [5, 5, 2, 3], strides: 1, pad: 'valid' },
  { x: [4, 28, 28, 1], w: [3, 3, 1, 16], strides: 1, pad: 'same' },
];

/** dL/dx and dL/dW of L = Σ conv(x, W)² · r (r: fixed random weights), on the given backend. */
async function convGrads(backend: string, c: Case, seed: number): Promise<{ dx: Float32Array; dw: Float32Array }> {
  assert.ok(await tf.setBackend(backend));
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const [dx, dw] = tf.tidy(() => {
    const x = tf.tensor4d(randomValues(size(c.x), seed), c.x);
    const w = tf.tensor4d(randomValues(size(c.w), seed + 1), c.w);
    const probe = tf.conv2d(x, w, c.strides, c.pad);
    const r = tf.tensor(randomValues(probe.size, seed + 2), probe.shape);
    const loss = (a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad)), r));
    return tf.grads(loss)([x, w]);
  });
  const out = { dx: (await dx!.data()) as Float32Array, dw: (await dw!.data()) as Float32Array };
  tf.dispose([dx!, dw!]);
  return out;
}

function maxRelError(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m / scale;
}

test('initBackend picks wasm here (no native tfjs-node installed) and reports versions', async () => {
  const info = await initBackend();
  assert.equal(info.name, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.equal(info.versions['tfjs-core'], tf.version_core);
  assert.match(info.versions['tfjs-backend-wasm'] ?? '', /^\d+\.\d+\.\d+/);
  // No GPU on these machines: the GPU backend is never even imported; tfjs-node is tried and is not installed.
  assert.deepEqual(
    info.skipped.map((s) => s.name),
    ['tensorflow-gpu', 'tensorflow'],
  );
  assert.match(info.skipped[0]?.reason ?? '', /no NVIDIA GPU present/);
  assert.match(info.skipped[1]?.reason ?? '', /@tensorflow\/tfjs-node is not installed/);
});

for (const c of cases) {
  test(`wasm Conv2D gradients equal the cpu backend's: x${JSON.stringify(c.x)} w${JSON.stringify(c.w)} s=${JSON.stringify(c.strides)} ${c.pad}`, async () => {
    await initBackend();
    const cpu = await convGrads('cpu', c, 7);
    const numBefore = tf.engine().backend.numDataIds();
    const wasm = await convGrads('wasm', c, 7);
    assert.ok(maxRelError(wasm.dx, cpu.dx) < 1e-5, `dx differs: ${maxRelError(wasm.dx, cpu.dx)}`);
    assert.ok(maxRelError(wasm.dw, cpu.dw) < 1e-5, `dw differs: ${maxRelError(wasm.dw, cpu.dw)}`);
    // every intermediate made inside the gradient kernels is freed
    assert.equal(tf.engine().backend.numDataIds(), numBefore);
  });
}

test('conv2dTranspose (whose forward pass is Conv2DBackpropInput) and its gradients match cpu on wasm', async () => {
  await initBackend();
  const shapes: [
    [number, number, number, number],
    [number, number, number, number],
    [number, number, number, number],
    number,
    'same' | 'valid',
  ][] = [
    [[2, 4, 4, 3], [3, 3, 5, 3], [2, 8, 8, 5], 2, 'same'],
    [[2, 4, 4, 3], [3, 3, 5, 3], [2, 9, 9, 5], 2, 'valid'],
    [[1, 5, 6, 2], [2, 3, 4, 2], [1, 5, 6, 4], 1, 'same'],
  ];
  for (const [xs, fs, os, stride, pad] of shapes) {
    const results: Float32Array[] = [];
    for (const b of ['cpu', 'wasm']) {
      assert.ok(await tf.setBackend(b));
      const x = tf.tensor4d(
        randomValues(
          xs.reduce((a, c) => a * c, 1),
          3,
        ),
        xs,
      );
      const f = tf.tensor4d(
        randomValues(
          fs.reduce((a, c) => a * c, 1),
          4,
        ),
        fs,
      );
      const y = tf.conv2dTranspose(x, f, os, stride, pad);
      const [gx, gf] = tf.grads((a: tf.Tensor, w: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2dTranspose(a as tf.Tensor4D, w as tf.Tensor4D, os, stride, pad))),
      )([x, f]);
      results.push(Float32Array.from([...(await y.data()), ...(await gx!.data()), ...(await gf!.data())]));
      tf.dispose([x, f, y, gx!, gf!]);
    }
    const err = maxRelError(results[1] as Float32Array, results[0] as Float32Array);
    assert.ok(err < 1e-5, `${JSON.stringify([xs, fs, stride, pad])}: ${err}`);
  }
});

test('wasm Conv2D gradient kernels refuse what they do not cover, naming it', async () => {
  await initBackend();
  assert.ok(await tf.setBackend('wasm'));
  const x = tf.zeros([1, 4, 4, 2]);
  const dy = tf.zeros([1, 4, 4, 3]);
  try {
    assert.throws(
      () =>
        tf
          .engine()
          .runKernel(
            'Conv2DBackpropFilter',
            { x, dy },
            { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [3, 3, 2, 3] },
          ),
      /Conv2DBackpropFilter on wasm supports dataFormat NHWC only, got 'NCHW'/,
    );
    // dilated convolutions: tfjs-core refuses their gradients before any kernel runs
    const w = tf.zeros([3, 3, 2, 3]) as tf.Tensor4D;
    assert.throws(
      () => tf.grad((a: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, w, 1, 'same', 'NHWC', 2)))(x),
      /dilation/i,
    );
    w.dispose();
  } finally {
    tf.dispose([x, dy]);
  }
});

test('wasm MaxPool gradient picks the true maximum of all-negative windows, like the cpu backend', async () => {
  await initBackend();
  const x = [-5, -1, -3, -2, -4, -6, -7, -8, 1, 2, 3, 4, -1, -1, -1, -1];
  const grads: number[][] = [];
  for (const b of ['cpu', 'wasm']) {
    assert.ok(await tf.setBackend(b));
    const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 2, 2, 'valid')))(
      tf.tensor4d(x, [1, 4, 4, 1]),
    );
    grads.push(Array.from(await dx.data()));
    dx.dispose();
  }
  // window maxima: −1 (index 1), −2 (index 3), 2 (index 9), 4 (index 11); ties in the last row go to the first
  assert.deepEqual(grads[0], [0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(grads[1], grads[0]);
});

test('pooling (max and average; overlapping, same and valid windows) and its gradients match cpu on wasm', async () => {
  await initBackend();
  const cases: ['max' | 'avg', number, number, 'same' | 'valid'][] = [
    ['avg', 3, 2, 'same'],
    ['avg', 2, 2, 'same'],
    ['avg', 3, 1, 'same'],
    ['avg', 3, 2, 'valid'],
    ['max', 3, 2, 'same'],
    ['max', 3, 2, 'valid'],
    ['max', 2, 1, 'valid'],
    ['max', 2, 2, 'same'],
  ];
  for (const [kind, size, stride, pad] of cases) {
    const results: Float32Array[] = [];
    for (const b of ['cpu', 'wasm']) {
      assert.ok(await tf.setBackend(b));
      const x = tf.tensor4d(randomValues(2 * 7 * 8 * 3, 11), [2, 7, 8, 3]); // values in [−0.5, 0.5)
      const pool = (a: tf.Tensor) =>
        kind === 'avg'
          ? tf.avgPool(a as tf.Tensor4D, size, stride, pad)
          : tf.maxPool(a as tf.Tensor4D, size, stride, pad);
      const y = pool(x);
      const w = tf.tensor(randomValues(y.size, 12), y.shape);
      const g = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(pool(a), w)))(x);
      results.push(Float32Array.from([...(await y.data()), ...(await g.data())]));
      tf.dispose([x, y, w, g]);
    }
    const err = maxRelError(results[1] as Float32Array, results[0] as Float32Array);
    assert.ok(err < 1e-5, `${kind} ${size}/${stride} ${pad}: ${err}`);
  }
});

function childBackend(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const code = `import { initBackend } from './trainer/backend/index.ts';
try { const i = await initBackend(); console.log(JSON.stringify(i)); } catch (e) { console.error(String(e.message)); process.exit(3); }`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('AIBOMGEN_TF_BACKEND forces a backend; an unavailable or unknown one is an error, never a fallback', () => {
  const cpu = childBackend({ AIBOMGEN_TF_BACKEND: 'cpu' });
  assert.equal(cpu.status, 0, cpu.stderr);
  assert.equal(JSON.parse(cpu.stdout.trim().split('\n').at(-1) as string).name, 'cpu');

  const native = childBackend({ AIBOMGEN_TF_BACKEND: 'tensorflow' });
  assert.equal(native.status, 3);
  assert.match(
    native.stderr,
    /backend 'tensorflow' \(forced\) is unavailable: @tensorflow\/tfjs-node is not installed/,
  );

  const auto = childBackend({ AIBOMGEN_TF_BACKEND: 'auto' });
  assert.equal(auto.status, 0, auto.stderr);
  assert.equal(JSON.parse(auto.stdout.trim().split('\n').at(-1) as string).name, 'wasm');

  const bogus = childBackend({ AIBOMGEN_TF_BACKEND: 'webgpu' });
  assert.equal(bogus.status, 3);
  assert.match(bogus.stderr, /AIBOMGEN_TF_BACKEND: unknown TensorFlow.js backend 'webgpu'/);
});
