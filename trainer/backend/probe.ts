/**
 * Backend probe: initialises the backend exactly as a job would, trains a tiny CNN for a few steps
 * (exercising the Conv2D gradients) and prints one JSON line:
 * `{"type":"probe","backend":"wasm","versions":{...},"loss":[...],"ms":123}`.
 *
 * Built beside the trainer as `trainer/dist/probe.mjs`, so an image (and the jobs area) can check that a
 * bundle runs in its container without real inputs: `node /opt/trainer/probe.mjs`.
 */
import * as tf from '../tf.ts';
import { initBackend } from './index.ts';
import { seedEverything } from './seed.ts';

export interface ProbeResult {
  type: 'probe';
  backend: string;
  versions: Record<string, string>;
  skipped: { name: string; reason: string }[];
  loss: number[];
  ms: number;
}

export async function probe(steps = 3): Promise<ProbeResult> {
  const t0 = performance.now();
  const info = await initBackend();
  seedEverything(0);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [8, 8, 1],
        filters: 4,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 2, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const xs = tf.randomUniform([16, 8, 8, 1]);
  const ys = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], 'int32'), 2);
  const loss: number[] = [];
  for (let i = 0; i < steps; i++) loss.push(Number(await model.trainOnBatch(xs, ys)));
  tf.dispose([xs, ys]);
  model.dispose();
  return {
    type: 'probe',
    backend: info.name,
    versions: info.versions,
    skipped: info.skipped,
    loss,
    ms: Math.round(performance.now() - t0),
  };
}

// Run when executed as the bundle's entry (not when imported by tests).
const entry = process.argv[1] ?? '';
if (/probe\.(mjs|ts)$/.test(entry)) {
  probe()
    .then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
    .catch((err: unknown) => {
      process.stdout.write(`${JSON.stringify({ type: 'error', message: (err as Error).message })}\n`);
      process.exit(1);
    });
}
