/**
 * The training loop: splits off the validation tail (after one seeded shuffle, so class-sorted datasets still
 * validate on every class), then runs `fit` one epoch at a time so validation_freq, steps_per_epoch and
 * validation_steps work (tfjs-layers' own `stepsPerEpoch` mode is not implemented for tensors).
 */
import * as tf from './tf.ts';
import type { TrainParams } from '../schema/trainer.ts';
import type { LoadedDataset } from './datasets/index.ts';
import { TrainerError } from './errors.ts';

type Logs = Record<string, number>;

export interface TrainHooks {
  onEpoch(epoch: number, logs: Logs): void;
  onBatch(epoch: number, batch: number, logs: Logs): void;
  log(line: string): void;
}

export interface TrainResult {
  history: { epoch: number; logs: Logs }[];
  final: Logs;
  trainSamples: number;
  validationSamples: number;
  samplesSeen: number;
  seconds: number;
}

/** Fisher–Yates with Math.random (seeded globally per job). */
function permutation(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function gather(src: Float32Array, width: number, idx: ArrayLike<number>, from: number, to: number): Float32Array {
  const out = new Float32Array((to - from) * width);
  for (let i = from; i < to; i++) out.set(src.subarray(idx[i]! * width, idx[i]! * width + width), (i - from) * width);
  return out;
}

const toNumbers = (logs: tf.Logs | undefined): Logs =>
  Object.fromEntries(Object.entries(logs ?? {}).map(([k, v]) => [k, typeof v === 'number' ? v : Number(v)]));

export async function train(
  model: tf.LayersModel,
  ds: LoadedDataset,
  p: TrainParams,
  hooks: TrainHooks,
): Promise<TrainResult> {
  const width = ds.xs.length / ds.n;
  const order = permutation(ds.n);
  const nVal = Math.floor(ds.n * p.validation_split);
  const nTrain = ds.n - nVal;
  if (nTrain < 1)
    throw new TrainerError(
      'empty_dataset',
      `no training samples left after validation_split ${p.validation_split} of ${ds.n}`,
      'validation_split',
    );
  if (p.validation_split > 0 && nVal < 1) {
    throw new TrainerError(
      'empty_dataset',
      `validation_split ${p.validation_split} of ${ds.n} samples leaves no validation samples`,
      'validation_split',
    );
  }
  const xTrainData = gather(ds.xs, width, order, 0, nTrain);
  const yTrainData = gather(ds.ys, ds.outputSize, order, 0, nTrain);
  const valCount = p.validation_steps ? Math.min(nVal, p.validation_steps * p.batch_size) : nVal;
  const xVal = nVal
    ? tf.tensor(gather(ds.xs, width, order, nTrain, nTrain + valCount), [valCount, ...ds.inputShape])
    : undefined;
  const yVal = nVal
    ? tf.tensor(gather(ds.ys, ds.outputSize, order, nTrain, nTrain + valCount), [valCount, ds.outputSize])
    : undefined;
  const fullX = tf.tensor(xTrainData, [nTrain, ...ds.inputShape]);
  const fullY = tf.tensor(yTrainData, [nTrain, ds.outputSize]);
  hooks.log(
    `train ${nTrain} samples, validate ${valCount} of ${nVal}, batch ${p.batch_size}, epochs ${p.initial_epoch}..${p.epochs}`,
  );

  const history: TrainResult['history'] = [];
  let samplesSeen = 0;
  let cursor = 0;
  let stepOrder = permutation(nTrain);
  const started = performance.now();
  try {
    for (let epoch = p.initial_epoch; epoch < p.epochs; epoch++) {
      let x = fullX;
      let y = fullY;
      if (p.steps_per_epoch) {
        // Step-wise: take steps×batch samples, cycling through a reshuffled order.
        const want = p.steps_per_epoch * p.batch_size;
        const idx = new Int32Array(want);
        for (let i = 0; i < want; i++) {
          if (cursor >= nTrain) (stepOrder = permutation(nTrain)), (cursor = 0);
          idx[i] = stepOrder[cursor++]!;
        }
        x = tf.tensor(gather(xTrainData, width, idx, 0, want), [want, ...ds.inputShape]);
        y = tf.tensor(gather(yTrainData, ds.outputSize, idx, 0, want), [want, ds.outputSize]);
      }
      // As Keras: validate after epoch index e when (e + 1) % validation_freq === 0.
      const validate = xVal && yVal && (epoch + 1) % p.validation_freq === 0;
      let epochLogs: Logs = {};
      try {
        await model.fit(x, y, {
          epochs: epoch + 1,
          initialEpoch: epoch,
          batchSize: p.batch_size,
          shuffle: true,
          verbose: 0,
          yieldEvery: 'never',
          ...(validate ? { validationData: [xVal, yVal] as [tf.Tensor, tf.Tensor] } : {}),
          callbacks: {
            onBatchEnd: async (batch, logs) => {
              const { batch: _b, size: _s, ...rest } = toNumbers(logs);
              hooks.onBatch(epoch, batch, rest);
            },
            onEpochEnd: async (_e, logs) => {
              epochLogs = toNumbers(logs);
            },
          },
        });
      } finally {
        if (x !== fullX) tf.dispose([x, y]);
      }
      for (const v of Object.values(epochLogs)) {
        if (!Number.isFinite(v)) hooks.log(`warning: non-finite metric at epoch ${epoch + 1}`);
      }
      // fit runs with yieldEvery 'never'; one macrotask turn per epoch lets signal handlers (SIGTERM) run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      samplesSeen += x.shape[0]!;
      history.push({ epoch: epoch + 1, logs: epochLogs });
      hooks.onEpoch(epoch + 1, epochLogs);
    }
  } finally {
    tf.dispose([fullX, fullY, ...(xVal ? [xVal] : []), ...(yVal ? [yVal] : [])]);
  }
  const seconds = (performance.now() - started) / 1000;
  const final: Logs = {};
  for (const h of history) Object.assign(final, h.logs);
  return { history, final, trainSamples: nTrain, validationSamples: valCount, samplesSeen, seconds };
}

/** Memory cap for one run, in MiB (`AIBOMGEN_TRAINER_MAX_MEMORY_MB`); wasm's own heap stops at 4 GiB. */
export function memoryBudgetBytes(backend: string): number {
  const env = Number(process.env.AIBOMGEN_TRAINER_MAX_MEMORY_MB);
  if (Number.isFinite(env) && env > 0) return env * 1024 * 1024;
  return backend === 'wasm' ? 3.5 * 1024 ** 3 : 16 * 1024 ** 3;
}

/**
 * Refuses runs whose estimated footprint exceeds the budget before training starts, as a clean
 * out_of_memory error instead of a crash mid-run: the dataset held twice (arrays + tensors) plus weights,
 * gradients and two optimizer moments per parameter.
 */
export function checkMemoryBudget(paramCount: number, ds: LoadedDataset, budget: number): void {
  const estimate = 2 * (ds.xs.byteLength + ds.ys.byteLength) + paramCount * 4 * 4;
  if (estimate > budget) {
    const mib = (b: number) => `${Math.ceil(b / 1024 / 1024)} MiB`;
    throw new TrainerError(
      'out_of_memory',
      `out of memory: this run needs about ${mib(estimate)} (dataset + ${paramCount} parameters with optimizer state), the budget is ${mib(budget)}`,
    );
  }
}
