/**
 * Fixture generators in the spirit of the seed's utils: a 13-feature tabular CSV, an MNIST-like image zip
 * (synthetic shapes per class, learnable by a small CNN), the same tabular data as TFRecord, and matching
 * dataset definitions and TF.js model topologies. All randomness comes from a seeded generator, so a fixture
 * is a pure function of its options. Used by tests, the demo and job tests.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import seedrandom from 'seedrandom';
import { PNG } from 'pngjs';
import { zipSync } from 'fflate';
import { stringify as toYaml } from 'yaml';
import { writeTfRecord } from '../datasets/tfrecord.ts';
import type { Feature } from '../datasets/example-proto.ts';

export const FEATURES = Array.from({ length: 13 }, (_, i) => `feature${i + 1}`);

/** Rows of 13 features in [0, 1) and a binary label from a fixed linear rule (learnable, ~balanced). */
export function tabularRows(n: number, seed = 1): { x: number[]; label: number }[] {
  const rng = seedrandom(`tabular-${seed}`);
  const w = FEATURES.map((_, i) => (i % 2 === 0 ? 1 : -1) * (1 + (i % 3)));
  const bias = -w.reduce((a, b) => a + b, 0) / 2;
  return Array.from({ length: n }, () => {
    const x = FEATURES.map(() => Number(rng().toFixed(4)));
    const s = x.reduce((a, v, i) => a + v * w[i]!, bias);
    return { x, label: s > 0 ? 1 : 0 };
  });
}

export function tabularDefinition(): Record<string, unknown> {
  return {
    columns: { ...Object.fromEntries(FEATURES.map((f) => [f, 'float'])), label: 'int' },
    input_shape: [13],
    output_shape: [1],
    label: 'label',
    preprocessing: { normalize: true, clip: [0, 1], scale: 1.0 },
  };
}

/** TF.js topology of the seed's MLP, 13→64→32→1 (no weights: the trainer initialises them from the seed). */
export function mlpModelJson(): Record<string, unknown> {
  const dense = (name: string, units: number, activation: string, extra: Record<string, unknown> = {}) => ({
    class_name: 'Dense',
    config: {
      name,
      units,
      activation,
      use_bias: true,
      kernel_initializer: { class_name: 'GlorotUniform', config: { seed: null } },
      bias_initializer: { class_name: 'Zeros', config: {} },
      ...extra,
    },
  });
  return {
    format: 'layers-model',
    generatedBy: 'aibomgen trainer/samples',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'mlp',
        layers: [
          dense('dense_1', 64, 'relu', { batch_input_shape: [null, 13] }),
          dense('dense_2', 32, 'relu'),
          dense('dense_3', 1, 'sigmoid'),
        ],
      },
    },
  };
}

/** A small CNN topology for h×w×c images and `classes` outputs. */
export function cnnModelJson(h = 28, w = 28, c = 1, classes = 4): Record<string, unknown> {
  return {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: {
        name: 'cnn',
        layers: [
          {
            class_name: 'Rescaling',
            config: { name: 'rescale', scale: 1 / 255, offset: 0, batch_input_shape: [null, h, w, c] },
          },
          {
            class_name: 'Conv2D',
            config: { name: 'conv', filters: 8, kernel_size: [3, 3], activation: 'relu', padding: 'valid' },
          },
          { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2] } },
          { class_name: 'Flatten', config: { name: 'flat' } },
          { class_name: 'Dense', config: { name: 'out', units: classes, activation: 'softmax' } },
        ],
      },
    },
  };
}

export async function writeTabularCsv(file: string, n: number, seed = 1): Promise<void> {
  const lines = [[...FEATURES, 'label'].join(',')];
  for (const r of tabularRows(n, seed)) lines.push([...r.x, r.label].join(','));
  await writeFile(file, `${lines.join('\n')}\n`);
}

export async function writeTabularTfRecord(file: string, n: number, seed = 1): Promise<void> {
  const examples = tabularRows(n, seed).map((r) => {
    const ex: Record<string, Feature> = {};
    FEATURES.forEach((f, i) => (ex[f] = { kind: 'float', values: [r.x[i]!] }));
    ex.label = { kind: 'int64', values: [r.label] };
    return ex;
  });
  await writeTfRecord(file, examples);
}

/** Draws class `k` (0..7) as a distinct shape at a random offset with noise, on a size×size canvas. */
export function drawShape(k: number, size: number, rng: () => number): Uint8Array {
  const px = new Uint8Array(size * size);
  const s = Math.floor(size * 0.5);
  const ox = Math.floor(rng() * (size - s));
  const oy = Math.floor(rng() * (size - s));
  const set = (x: number, y: number) => {
    if (x >= 0 && y >= 0 && x < size && y < size) px[y * size + x] = 200 + Math.floor(rng() * 55);
  };
  for (let i = 0; i < s; i++) {
    const m = Math.floor(s / 2);
    switch (k % 8) {
      case 0:
        set(ox + i, oy + m);
        set(ox + i, oy + m + 1);
        break; // horizontal bar
      case 1:
        set(ox + m, oy + i);
        set(ox + m + 1, oy + i);
        break; // vertical bar
      case 2:
        set(ox + i, oy + i);
        set(ox + i + 1, oy + i);
        break; // diagonal
      case 3:
        set(ox + i, oy);
        set(ox + i, oy + s - 1);
        set(ox, oy + i);
        set(ox + s - 1, oy + i);
        break; // square
      case 4:
        set(ox + s - 1 - i, oy + i);
        set(ox + s - i, oy + i);
        break; // anti-diagonal
      case 5:
        set(ox + i, oy + m);
        set(ox + m, oy + i);
        break; // plus
      case 6:
        set(ox + i, oy + i);
        set(ox + s - 1 - i, oy + i);
        break; // cross
      default:
        for (let j = 0; j < s; j += 3) set(ox + i, oy + j); // stripes
    }
  }
  for (let i = 0; i < px.length; i++) if (px[i] === 0) px[i] = Math.floor(rng() * 40);
  return px;
}

export function encodePng(gray: Uint8Array, size: number): Uint8Array {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) {
    png.data[i * 4] = png.data[i * 4 + 1] = png.data[i * 4 + 2] = gray[i]!;
    png.data[i * 4 + 3] = 255;
  }
  return new Uint8Array(PNG.sync.write(png));
}

/** An image zip: `<class>/<i>.png` folders, or flat images + labels.csv when `layout` is 'labels-csv'. */
export async function writeImageZip(
  file: string,
  opts: { perClass: number; classes: number; size?: number; seed?: number; layout?: 'folders' | 'labels-csv' },
): Promise<void> {
  const size = opts.size ?? 28;
  const rng = seedrandom(`images-${opts.seed ?? 1}`);
  const files: Record<string, Uint8Array> = {};
  const labels = ['filename,label'];
  for (let k = 0; k < opts.classes; k++) {
    for (let i = 0; i < opts.perClass; i++) {
      const png = encodePng(drawShape(k, size, rng), size);
      if (opts.layout === 'labels-csv') {
        files[`images/${k}_${i}.png`] = png;
        labels.push(`${k}_${i}.png,${k}`);
      } else files[`${k}/${i}.png`] = png;
    }
  }
  if (opts.layout === 'labels-csv') files['images/labels.csv'] = new TextEncoder().encode(`${labels.join('\n')}\n`);
  await writeFile(file, zipSync(files));
}

/** MNIST-like images as TFRecord: `image` (PNG bytes) and `label` (int64) per Example. */
export async function writeImageTfRecord(
  file: string,
  opts: { perClass: number; classes: number; size?: number; seed?: number },
): Promise<void> {
  const size = opts.size ?? 28;
  const rng = seedrandom(`images-${opts.seed ?? 1}`);
  const examples: Record<string, Feature>[] = [];
  for (let k = 0; k < opts.classes; k++) {
    for (let i = 0; i < opts.perClass; i++) {
      examples.push({
        image: { kind: 'bytes', values: [encodePng(drawShape(k, size, rng), size)] },
        label: { kind: 'int64', values: [k] },
      });
    }
  }
  await writeTfRecord(file, examples);
}

export function imageDefinition(classes: number, size = 28): Record<string, unknown> {
  return {
    input_shape: [size, size, 1],
    output_shape: [classes],
    image_size: [size, size],
    color_mode: 'grayscale',
    preprocessing: { normalize: false, scale: 1.0 },
  };
}

export interface SampleOptions {
  samples?: number;
  seed?: number;
  params?: Record<string, unknown>;
}

/** Writes a complete trainer input dir of one kind (tabular CSV + MLP, images + CNN, TFRecord + MLP). */
export async function writeSampleInput(
  dir: string,
  kind: 'csv' | 'images' | 'tfrecord',
  o: SampleOptions = {},
): Promise<void> {
  await mkdir(join(dir, 'model'), { recursive: true });
  const seed = o.seed ?? 1;
  if (kind === 'images') {
    const classes = 4;
    await writeImageZip(join(dir, 'dataset.zip'), { perClass: Math.ceil((o.samples ?? 160) / classes), classes, seed });
    await writeFile(join(dir, 'dataset_definition.yaml'), toYaml(imageDefinition(classes)));
    await writeFile(join(dir, 'model', 'model.json'), JSON.stringify(cnnModelJson(28, 28, 1, classes)));
  } else {
    if (kind === 'csv') await writeTabularCsv(join(dir, 'dataset.csv'), o.samples ?? 1000, seed);
    else await writeTabularTfRecord(join(dir, 'dataset.tfrecord'), o.samples ?? 1000, seed);
    await writeFile(join(dir, 'dataset_definition.yaml'), toYaml(tabularDefinition()));
    await writeFile(join(dir, 'model', 'model.json'), JSON.stringify(mlpModelJson()));
  }
  if (o.params) await writeFile(join(dir, 'params.json'), JSON.stringify(o.params));
}
