/**
 * Image datasets from a zip: one folder per class (`<class>/<img>.png`, optionally under one top folder),
 * or images plus `labels.csv` (`filename,label`). PNG decoded with pngjs, converted to the definition's
 * color_mode and resized (bilinear) to image_size; pixel values are 0..255 before preprocessing.
 */
import { PNG } from 'pngjs';
import type { DatasetDefinition } from '../../schema/trainer.ts';
import { TrainerError } from '../errors.ts';
import { splitCsvLine } from './csv.ts';
import { writeTarget } from './labels.ts';
import { unzipSafely } from './safe-unzip.ts';
import type { LoadedDataset } from './types.ts';

/** Resizes an HxWxC float image bilinearly (align-corners false, like tf.image.resize). */
export function resize(src: Float32Array, h: number, w: number, c: number, oh: number, ow: number): Float32Array {
  if (h === oh && w === ow) return src;
  const out = new Float32Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(h - 1, Math.max(0, (y + 0.5) * (h / oh) - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(h - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(w - 1, Math.max(0, (x + 0.5) * (w / ow) - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(w - 1, x0 + 1);
      const fx = sx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * w + x0) * c + k]!;
        const b = src[(y0 * w + x1) * c + k]!;
        const d = src[(y1 * w + x0) * c + k]!;
        const e = src[(y1 * w + x1) * c + k]!;
        out[(y * ow + x) * c + k] = (a * (1 - fx) + b * fx) * (1 - fy) + (d * (1 - fx) + e * fx) * fy;
      }
    }
  }
  return out;
}

export function decodePng(
  name: string,
  bytes: Uint8Array,
  channels: 1 | 3,
): { h: number; w: number; px: Float32Array } {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new TrainerError('corrupt_archive', `${name} is not a readable PNG: ${(e as Error).message}`, 'dataset');
  }
  const { width: w, height: h, data } = png;
  const px = new Float32Array(w * h * channels);
  for (let i = 0; i < w * h; i++) {
    const r = data[i * 4]!;
    const g = data[i * 4 + 1]!;
    const b = data[i * 4 + 2]!;
    if (channels === 1) px[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    else (px[i * 3] = r), (px[i * 3 + 1] = g), (px[i * 3 + 2] = b);
  }
  return { h, w, px };
}

export async function loadImageZip(file: string, def: DatasetDefinition): Promise<LoadedDataset> {
  const entries = await unzipSafely(file, 'dataset.zip');
  const channels: 1 | 3 =
    def.color_mode === 'rgb' ? 3 : def.color_mode === 'grayscale' ? 1 : def.input_shape[2] === 3 ? 3 : 1;
  const [ih, iw, ic] = def.input_shape;
  if (def.input_shape.length !== 3 || ic !== channels) {
    throw new TrainerError(
      'shape_mismatch',
      `input_shape [${def.input_shape}] does not fit images of ${channels} channel(s): expected [height, width, ${channels}]`,
      'input_shape',
    );
  }
  const [oh, ow] = def.image_size ?? [ih!, iw!];
  if (oh !== ih || ow !== iw) {
    throw new TrainerError(
      'shape_mismatch',
      `image_size [${oh}, ${ow}] does not match input_shape [${def.input_shape}]`,
      'image_size',
    );
  }
  const pngs = [...entries.keys()]
    .filter((n) => /\.png$/i.test(n) && !n.split('/').some((p) => p.startsWith('.') || p === '__MACOSX'))
    .sort();
  if (pngs.length === 0) throw new TrainerError('empty_dataset', 'dataset.zip holds no PNG images', 'dataset');

  // Labels: labels.csv (filename,label) when present, else the image's parent folder name.
  const labelsCsv = [...entries.keys()].find((n) => /(^|\/)labels\.csv$/.test(n));
  const labelOf = new Map<string, string>();
  if (labelsCsv) {
    const text = new TextDecoder().decode(entries.get(labelsCsv));
    const prefix = labelsCsv.slice(0, labelsCsv.length - 'labels.csv'.length);
    text
      .split(/\r?\n/)
      .slice(1)
      .forEach((line) => {
        if (!line.trim()) return;
        const [f, l] = splitCsvLine(line);
        if (f !== undefined && l !== undefined) labelOf.set(prefix + f.trim(), l.trim());
      });
  } else {
    for (const n of pngs) {
      const parts = n.split('/');
      if (parts.length < 2)
        throw new TrainerError(
          'bad_definition',
          `dataset.zip image '${n}' is not inside a class folder and there is no labels.csv`,
          'dataset',
        );
      labelOf.set(n, parts[parts.length - 2]!);
    }
  }
  const rawLabels = [...new Set(pngs.map((n) => labelOf.get(n)).filter((l): l is string => l !== undefined))];
  const classNames =
    def.class_names ??
    (rawLabels.every((l) => /^\d+$/.test(l)) ? rawLabels.sort((a, b) => Number(a) - Number(b)) : rawLabels.sort());
  const outputSize = def.output_shape[0]!;
  const numeric = def.class_names === undefined && classNames.every((l) => /^\d+$/.test(l));
  if (outputSize === 1 && classNames.length > 2) {
    throw new TrainerError(
      'shape_mismatch',
      `dataset.zip has ${classNames.length} classes but output_shape [1] fits only two`,
      'output_shape',
    );
  }
  if (!numeric && outputSize !== 1 && classNames.length > outputSize) {
    throw new TrainerError(
      'shape_mismatch',
      `dataset.zip has ${classNames.length} classes but output_shape is [${outputSize}]`,
      'output_shape',
    );
  }
  const per = ih! * iw! * channels;
  const used = pngs.filter((n) => labelOf.has(n));
  if (used.length === 0) throw new TrainerError('empty_dataset', 'dataset.zip: no image has a label', 'dataset');
  const xs = new Float32Array(used.length * per);
  const ys = new Float32Array(used.length * outputSize);
  used.forEach((name, i) => {
    const { h, w, px } = decodePng(`dataset.zip entry '${name}'`, entries.get(name)!, channels);
    xs.set(resize(px, h, w, channels, ih!, iw!), i * per);
    const l = labelOf.get(name)!;
    const idx = numeric ? Number(l) : classNames.indexOf(l);
    if (idx < 0)
      throw new TrainerError(
        'bad_definition',
        `dataset.zip image '${name}' has label '${l}', not one of class_names`,
        'class_names',
      );
    writeTarget(ys, i, outputSize, idx, `dataset.zip image '${name}'`);
  });
  return { kind: 'images', n: used.length, inputShape: def.input_shape, outputSize, xs, ys };
}
