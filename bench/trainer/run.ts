/**
 * Training throughput per TensorFlow.js backend: the seed-style MLP (13→64→32→1, batch 32) and a small CNN
 * (Conv16-Pool-Conv32-Pool-Dense64-Dense10 on 28×28×1, batch 64), in samples/s through `model.fit`, with
 * ratios against the pure-JS cpu backend measured in the same run and each backend's peak RSS.
 *
 *   npx tsx bench/trainer/run.ts [--backends cpu,wasm,tensorflow] [--seconds 6]
 *   npx tsx bench/trainer/run.ts --smoke   # a few batches per model and backend: the whole path, no meaningful figures
 *
 * Each backend runs in its own child process (one backend per process, as in a job; RSS stays separate).
 * The native backend is measured where @tensorflow/tfjs-node resolves; from source it does not here, so bundle
 * the bench beside a node_modules that has it (see the trainer report): esbuild bench/trainer/run.ts → x.mjs.
 * Targets on the 2-core build machine: MLP ≥ 15k samples/s, CNN ≥ 500 samples/s (best backend).
 *
 * Then, in the same run, the Keras side (keras_bench.py): the platform's Keras trainer (`python -m
 * keras_trainer`, CPU) and a plain Keras `model.fit` baseline (Keras 3 on JAX, the trainer's own venv: no
 * TensorFlow needed) on the same two models, and every trainer's samples/s as a ratio of that baseline. The row
 * "default (auto → keras)" is the Keras trainer given the model as TF.js files with `--trainer-choice auto`: what a
 * default TF.js-framework job runs when the Keras image is built (server/jobs/runners/trainer-choice.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '../../trainer/tf.ts';
import { initBackend, backendNames, type BackendName } from '../../trainer/backend/index.ts';
import { seedEverything } from '../../trainer/backend/seed.ts';

interface ChildResult {
  backend: BackendName;
  mlp: number; // samples/s
  cnn: number;
  peakRssMb: number;
  versions: Record<string, string>;
}

const TARGET = { mlp: 15_000, cnn: 500 };
/** --smoke (test/bench): a fraction of a second of training per model; a child that crashes fails the run. */
const SMOKE = process.argv.includes('--smoke');

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : fallback;
}

/**
 * samples/s of `model.fit` on this backend. A short calibrating fit sizes the epoch to ≈ seconds/6; then whole
 * epochs run for seconds × 1.25: the first quarter warms up (JIT, kernel setup, XNNPACK operators) and is not
 * counted. Timing is per epoch, not per batch: a per-batch callback makes fit read the loss back every batch,
 * which itself costs 15–25% on the tiny MLP (measured); yielding to the event loop ('auto') costs about as much.
 */
async function throughput(
  build: () => tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  batchSize: number,
  seconds: number,
): Promise<number> {
  const model = build();
  const fitOpts = { batchSize, shuffle: true, verbose: 0, yieldEvery: 'never' } as const;
  const calX = tf.slice(x, 0, 2 * batchSize);
  const calY = tf.slice(y, 0, 2 * batchSize);
  await model.fit(calX, calY, { ...fitOpts, epochs: 1 });
  let t = performance.now();
  await model.fit(calX, calY, { ...fitOpts, epochs: 1 });
  const roughRate = (2 * batchSize) / ((performance.now() - t) / 1000);
  tf.dispose([calX, calY]);
  const batches = Math.max(
    1,
    Math.min(Math.floor(x.shape[0] / batchSize), Math.round((roughRate * seconds) / 6 / batchSize)),
  );
  const ex = tf.slice(x, 0, batches * batchSize);
  const ey = tf.slice(y, 0, batches * batchSize);
  const warmupMs = (seconds * 1000) / 4;
  let counted = 0;
  let countFrom = 0;
  let last = 0;
  t = performance.now();
  await model.fit(ex, ey, {
    ...fitOpts,
    epochs: 100_000, // stopped by time below
    callbacks: {
      onEpochEnd: async () => {
        last = performance.now();
        if (countFrom === 0) {
          if (last - t >= warmupMs) countFrom = last;
        } else {
          counted++;
        }
        if (countFrom > 0 && last - countFrom >= seconds * 1000) model.stopTraining = true;
      },
    },
  });
  tf.dispose([ex, ey]);
  model.dispose();
  return (counted * batches * batchSize) / ((last - countFrom) / 1000);
}

function mlp(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [13], units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 32, activation: 'relu' }),
      tf.layers.dense({ units: 1 }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
  return m;
}

function cnn(): tf.LayersModel {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 16, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 32, kernelSize: 3, activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu' }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return m;
}

async function child(backend: BackendName, seconds: number): Promise<void> {
  let info: Awaited<ReturnType<typeof initBackend>>;
  try {
    info = await initBackend(backend);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
    return;
  }
  seedEverything(42);
  const mx = tf.randomNormal([16384, 13]);
  const my = tf.randomNormal([16384, 1]);
  const mlpRate = await throughput(mlp, mx, my, 32, seconds);
  const cx = tf.randomUniform([1024, 28, 28, 1]);
  const cy = tf.oneHot(tf.randomUniform([1024], 0, 10, 'int32') as tf.Tensor1D, 10);
  // Smoke: batches of 8 (the pure-JS cpu backend takes ~7 s per CNN batch of 64 here).
  const cnnRate = await throughput(cnn, cx, cy, SMOKE ? 8 : 64, seconds);
  const result: ChildResult = {
    backend,
    mlp: mlpRate,
    cnn: cnnRate,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    versions: info.versions,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function parent(): Promise<void> {
  const wanted = arg('backends', 'cpu,wasm,tensorflow').split(',') as BackendName[];
  const seconds = Number(arg('seconds', SMOKE ? '0.2' : '6'));
  const self = fileURLToPath(import.meta.url);
  console.log(
    `trainer bench${SMOKE ? ' (smoke: too short to time)' : ''}: ${cpus().length} CPUs, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (shared machine)`,
  );
  const results: ChildResult[] = [];
  const crashed: string[] = [];
  for (const b of wanted) {
    if (!(backendNames as readonly string[]).includes(b)) throw new Error(`unknown backend ${b}`);
    // execArgv carries `--import tsx` when run from source, nothing when run as an esbuild bundle.
    const r = spawnSync(
      process.execPath,
      [...process.execArgv, self, '--child', b, '--seconds', String(seconds), ...(SMOKE ? ['--smoke'] : [])],
      {
        encoding: 'utf8',
        timeout: 20 * 60_000,
        env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
      },
    );
    const line = r.stdout.trim().split('\n').at(-1) ?? '';
    const parsed = line.startsWith('{')
      ? (JSON.parse(line) as ChildResult | { error: string })
      : { error: r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}` };
    // A backend that is not installed answers {error} and exits 0; anything else is the bench failing.
    if (r.status !== 0 || !line.startsWith('{'))
      crashed.push(`${b}: exit ${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-5).join('\n')}`);
    if ('error' in parsed) {
      console.log(`${b}: not measured (${parsed.error})`);
      continue;
    }
    results.push(parsed);
  }
  const base = results.find((r) => r.backend === 'cpu');
  const ratio = (v: number, b: number | undefined) => (b ? `${fmt(v / b, 1)}×` : 'n/a');
  const rows = [['backend', 'MLP samples/s', 'MLP vs cpu', 'CNN samples/s', 'CNN vs cpu', 'peak RSS MB']];
  for (const r of results) {
    rows.push([
      r.backend,
      fmt(r.mlp),
      ratio(r.mlp, base?.mlp),
      fmt(r.cnn, 1),
      ratio(r.cnn, base?.cnn),
      fmt(r.peakRssMb),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)));
  for (const row of rows) console.log(row.map((c, i) => c.padStart(widths[i] as number)).join('  '));
  const best = { mlp: Math.max(0, ...results.map((r) => r.mlp)), cnn: Math.max(0, ...results.map((r) => r.cnn)) };
  console.log(
    `targets: MLP ≥ ${fmt(TARGET.mlp)} → best ${fmt(best.mlp)} ${best.mlp >= TARGET.mlp ? 'MET' : 'MISSED'}; ` +
      `CNN ≥ ${fmt(TARGET.cnn)} → best ${fmt(best.cnn, 1)} ${best.cnn >= TARGET.cnn ? 'MET' : 'MISSED'}`,
  );
  const keras = kerasBench(seconds, crashed);
  if (keras) compareWithPlain(results, keras);
  if (crashed.length || results.length === 0 || results.some((r) => !(r.mlp > 0 && r.cnn > 0))) {
    console.error(`trainer bench failed: ${crashed.join('; ') || 'no backend measured a positive rate'}`);
    process.exitCode = 1;
  }
}

interface KerasResult {
  plain: { mlp: number; cnn: number };
  trainer: { mlp: number; cnn: number };
  /** The Keras trainer on the same model as TF.js files: what a default (framework tfjs) job gets (auto). */
  auto?: { mlp: number; cnn: number };
  versions: Record<string, string>;
}

/** The Keras side (keras_bench.py in the trainer's venv): a plain Keras `fit` baseline and the Keras trainer. */
function kerasBench(seconds: number, crashed: string[]): KerasResult | undefined {
  const py = fileURLToPath(new URL('../../.tools/venv-keras/bin/python', import.meta.url));
  if (!existsSync(py)) {
    console.log('keras: not measured (.tools/venv-keras is missing: scripts/setup.sh installs it)');
    return undefined;
  }
  const script = fileURLToPath(new URL('keras_bench.py', import.meta.url));
  const args = [script, '--seconds', String(Math.max(seconds, SMOKE ? 0 : 1)), ...(SMOKE ? ['--smoke'] : [])];
  const r = spawnSync(py, args, { encoding: 'utf8', timeout: 20 * 60_000 });
  const line = r.stdout?.trim().split('\n').at(-1) ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    crashed.push(`keras: exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-5).join('\n')}`);
    return undefined;
  }
  return JSON.parse(line) as KerasResult;
}

/**
 * Every trainer against the plain Keras baseline (Keras 3 on JAX, CPU, `model.fit` with nothing around it), on
 * the same two models, with the goals: the best platform trainer ≥ 0.9× per model, the default (TF.js) ≥ 0.5×.
 */
function compareWithPlain(tfjs: ChildResult[], k: KerasResult): void {
  const rows: [string, number, number][] = [
    ...tfjs.map((r): [string, number, number] => [`tfjs ${r.backend}`, r.mlp, r.cnn]),
    ['keras trainer (jax cpu)', k.trainer.mlp, k.trainer.cnn],
    ...(k.auto ? [['default (auto → keras)', k.auto.mlp, k.auto.cnn] as [string, number, number]] : []),
    ['plain keras fit (jax cpu)', k.plain.mlp, k.plain.cnn],
  ];
  const table = [['trainer', 'MLP samples/s', 'MLP vs plain', 'CNN samples/s', 'CNN vs plain']];
  for (const [name, m, c] of rows)
    table.push([name, fmt(m), `${fmt(m / k.plain.mlp, 2)}×`, fmt(c, 1), `${fmt(c / k.plain.cnn, 2)}×`]);
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => (row[i] as string).length)));
  console.log(`against a plain Keras ${k.versions.keras} (${k.versions.backend}) model.fit on the same models:`);
  for (const row of table) console.log(row.map((c, i) => c.padStart(widths[i] as number)).join('  '));
  const platform = rows.slice(0, -1);
  const best = (i: 1 | 2) => Math.max(...platform.map((r) => r[i]));
  const wasm = tfjs.find((r) => r.backend === 'wasm');
  const verdict = (v: number, goal: number) => `${fmt(v, 2)}× ${v >= goal ? 'MET' : 'MISSED'}`;
  // The default trainer of a TF.js job: the Keras trainer when its image is built (auto), else TF.js wasm.
  const dflt = k.auto
    ? { name: 'default (auto → keras)', ...k.auto }
    : wasm
      ? { name: 'default TF.js (wasm)', ...wasm }
      : undefined;
  console.log(
    `goal best platform trainer ≥ 0.9× plain: MLP ${verdict(best(1) / k.plain.mlp, 0.9)}, CNN ${verdict(best(2) / k.plain.cnn, 0.9)}` +
      (dflt
        ? `; ${dflt.name} ≥ 0.5×: MLP ${verdict(dflt.mlp / k.plain.mlp, 0.5)}, CNN ${verdict(dflt.cnn / k.plain.cnn, 0.5)}`
        : '') +
      (wasm && k.auto
        ? ` (TF.js wasm alone: MLP ${fmt(wasm.mlp / k.plain.mlp, 2)}×, CNN ${fmt(wasm.cnn / k.plain.cnn, 2)}×)`
        : ''),
  );
}

const childIdx = process.argv.indexOf('--child');
if (childIdx >= 0) await child(process.argv[childIdx + 1] as BackendName, Number(arg('seconds', '6')));
else await parent();
