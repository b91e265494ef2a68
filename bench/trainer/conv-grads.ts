/**
 * Conv2D gradient kernels alone, on the shapes of the bench CNN (batch 64): the pure-JS cpu kernels (baseline),
 * tfjs-backend-wasm's own loop-based Conv2DBackpropInput (it has no Conv2DBackpropFilter), and ours built from
 * XNNPACK forward convolutions (trainer/backend/wasm-conv-grads.ts). ms per call, ratio vs cpu, peak RSS.
 * The cpu filter gradient takes seconds per call, so cpu is timed over one call after one warm-up (~40 s).
 *
 *   npx tsx bench/trainer/conv-grads.ts [--reps 20]
 */
import { getKernel, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { loadavg } from 'node:os';
import * as tf from '../../trainer/tf.ts';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
// Not trainer/backend/index.ts: it replaces the stock wasm kernels on import, and the stock one is measured here.
import { registerWasmConvGradients } from '../../trainer/backend/wasm-conv-grads.ts';

const i = process.argv.indexOf('--reps');
const reps = i >= 0 ? Number(process.argv[i + 1]) : 20;

interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
}
const cases: Case[] = [
  { name: 'CNN conv1 28×28×1→16', x: [64, 28, 28, 1], filter: [3, 3, 1, 16], strides: 1, pad: 'valid' },
  { name: 'CNN conv2 13×13×16→32', x: [64, 13, 13, 16], filter: [3, 3, 16, 32], strides: 1, pad: 'valid' },
  { name: 'strided 14×14×16→32 s2', x: [64, 14, 14, 16], filter: [3, 3, 16, 32], strides: 2, pad: 'same' },
];

/** ms per call of one kernel on the current backend (after warm-up calls). */
function time(
  kernel: KernelConfig | string,
  inputs: Record<string, tf.Tensor>,
  attrs: Record<string, unknown>,
  n = reps,
): number {
  const call = (): void => {
    const out =
      typeof kernel === 'string'
        ? (tf.engine().runKernel(kernel, inputs, attrs as never) as tf.Tensor)
        : kernel.kernelFunc({
            inputs: inputs as unknown as Record<string, TensorInfo>,
            backend: tf.backend(),
            attrs: attrs as never,
          });
    if (out instanceof tf.Tensor) out.dispose();
    else tf.backend().disposeData((out as TensorInfo).dataId);
  };
  for (let k = 0; k < Math.min(3, n); k++) call();
  const t = performance.now();
  for (let k = 0; k < n; k++) call();
  return (performance.now() - t) / n;
}

// Initialise wasm with its stock kernels first (their setup runs at init), keep the stock backprop-input
// kernel, then register ours.
setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
await tf.setBackend('wasm');
const stockInput = getKernel('Conv2DBackpropInput', 'wasm');
if (!stockInput) throw new Error('wasm has no stock Conv2DBackpropInput');
const stock: KernelConfig = { ...stockInput };
registerWasmConvGradients();

console.log(
  `conv gradient kernels: ${reps} reps, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (shared machine)`,
);
const rows: string[][] = [
  ['shape', 'kernel', 'cpu ms', 'wasm stock ms', 'wasm ours ms', 'ours vs cpu', 'ours vs stock'],
];
for (const c of cases) {
  const results: Record<string, number> = {};
  for (const b of ['cpu', 'wasm'] as const) {
    await tf.setBackend(b);
    const x = tf.randomNormal(c.x);
    const filter = tf.randomNormal(c.filter);
    const dy = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, c.strides, c.pad);
    const inAttrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x };
    const fAttrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
    // the cpu backend's filter gradient takes seconds per call: one timed call is enough
    const n = b === 'cpu' ? 1 : reps;
    results[`${b}-dx`] = time('Conv2DBackpropInput', { dy, filter }, inAttrs, n);
    results[`${b}-dw`] = time('Conv2DBackpropFilter', { x, dy }, fAttrs, n);
    if (b === 'wasm') results['stock-dx'] = time(stock, { dy, filter }, inAttrs);
    tf.dispose([x, filter, dy]);
  }
  const f = (n: number | undefined) => (n === undefined ? 'n/a' : n.toFixed(2));
  const r = (a: number | undefined, b: number | undefined) => (a && b ? `${(b / a).toFixed(1)}× faster` : 'n/a');
  rows.push([
    c.name,
    'dx',
    f(results['cpu-dx']),
    f(results['stock-dx']),
    f(results['wasm-dx']),
    r(results['wasm-dx'], results['cpu-dx']),
    r(results['wasm-dx'], results['stock-dx']),
  ]);
  rows.push([
    c.name,
    'dW',
    f(results['cpu-dw']),
    'missing',
    f(results['wasm-dw']),
    r(results['wasm-dw'], results['cpu-dw']),
    'n/a',
  ]);
}
const widths = rows[0]!.map((_, k) => Math.max(...rows.map((row) => (row[k] as string).length)));
for (const row of rows)
  console.log(
    row.map((cell, k) => (k < 2 ? cell.padEnd(widths[k] as number) : cell.padStart(widths[k] as number))).join('  '),
  );
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
