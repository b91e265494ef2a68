/**
 * TFRecord files of `tf.train.Example`: each record is uint64 length, masked CRC-32C of the length, data,
 * masked CRC-32C of the data (all little-endian). Both CRCs are checked. Features are read per the
 * definition's columns (each a float or int64 list; their values concatenated in column order fill
 * input_shape), the label column gives the target.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { DatasetDefinition } from '../../schema/trainer.ts';
import { TrainerError } from '../errors.ts';
import { maskedCrc32c } from './crc32c.ts';
import { decodeExample, encodeExample, type Feature } from './example-proto.ts';
import { decodePng, resize } from './images.ts';
import { writeTarget } from './labels.ts';
import type { LoadedDataset } from './types.ts';

export function* readRecords(buf: Uint8Array, name: string): Generator<Uint8Array> {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  let i = 0;
  while (pos < buf.length) {
    if (pos + 12 > buf.length)
      throw new TrainerError('corrupt_archive', `${name}: record ${i} header is truncated`, 'dataset');
    const len = Number(dv.getBigUint64(pos, true));
    if (maskedCrc32c(buf.subarray(pos, pos + 8)) !== dv.getUint32(pos + 8, true)) {
      throw new TrainerError('corrupt_archive', `${name}: record ${i} length CRC mismatch`, 'dataset');
    }
    const start = pos + 12;
    if (start + len + 4 > buf.length)
      throw new TrainerError('corrupt_archive', `${name}: record ${i} is truncated`, 'dataset');
    const data = buf.subarray(start, start + len);
    if (maskedCrc32c(data) !== dv.getUint32(start + len, true)) {
      throw new TrainerError('corrupt_archive', `${name}: record ${i} data CRC mismatch`, 'dataset');
    }
    yield data;
    pos = start + len + 4;
    i++;
  }
}

export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(data.length), true);
  dv.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  dv.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** Writes Examples as one TFRecord file (fixtures, tests). */
export async function writeTfRecord(file: string, examples: Record<string, Feature>[]): Promise<void> {
  const framed = examples.map((e) => frameRecord(encodeExample(e)));
  await writeFile(file, Buffer.concat(framed));
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];

/** An image feature: a PNG (decoded, converted and resized like zip images) or raw uint8 pixels of input_shape. */
function imagePixels(bytes: Uint8Array, def: DatasetDefinition, where: string): Float32Array {
  const [h, w, c] = def.input_shape;
  if (def.input_shape.length !== 3 || (c !== 1 && c !== 3)) {
    throw new TrainerError(
      'shape_mismatch',
      `input_shape [${def.input_shape}] is not [height, width, 1|3] as an image column needs`,
      'input_shape',
    );
  }
  if (PNG_MAGIC.every((b, i) => bytes[i] === b)) {
    const img = decodePng(where, bytes, c);
    return resize(img.px, img.h, img.w, c, h!, w!);
  }
  if (bytes.length === h! * w! * c) return Float32Array.from(bytes);
  throw new TrainerError(
    'shape_mismatch',
    `${where}: ${bytes.length} bytes is neither a PNG nor raw pixels of input_shape [${def.input_shape}]`,
    'input_shape',
  );
}

export async function loadTfRecords(files: string[], def: DatasetDefinition): Promise<LoadedDataset> {
  const columns = def.columns;
  if (!columns)
    throw new TrainerError(
      'bad_definition',
      'dataset_definition.yaml: columns: required for a TFRecord dataset',
      'columns',
    );
  if (!(def.label in columns))
    throw new TrainerError(
      'bad_definition',
      `dataset_definition.yaml: label: '${def.label}' is not one of columns`,
      'label',
    );
  const features = Object.keys(columns).filter((c) => c !== def.label);
  const width = def.input_shape.reduce((a, b) => a * b, 1);
  const outputSize = def.output_shape[0]!;
  const xs: number[] = [];
  const labels: number[] = [];
  for (const file of files) {
    const name = basename(file);
    let rec = 0;
    for (const data of readRecords(await readFile(file), name)) {
      const where = `${name} record ${rec++}`;
      const ex = decodeExample(data, where);
      let count = 0;
      for (const col of [...features, def.label]) {
        const f = ex.get(col);
        if (!f)
          throw new TrainerError(
            'missing_column',
            `${where} has no feature '${col}' (named in the definition)`,
            `columns.${col}`,
          );
        if (columns[col] === 'image' && col !== def.label) {
          if (f.kind !== 'bytes' || f.values.length !== 1)
            throw new TrainerError(
              'non_numeric',
              `${where}, feature '${col}': expected one bytes value (an image)`,
              `columns.${col}`,
            );
          const px = imagePixels(f.values[0]!, def, `${where}, feature '${col}'`);
          for (const v of px) xs.push(v);
          count += px.length;
          continue;
        }
        if (f.kind === 'bytes')
          throw new TrainerError(
            'non_numeric',
            `${where}, feature '${col}': bytes_list, expected a float or int64 list`,
            `columns.${col}`,
          );
        if (col === def.label) {
          if (f.values.length !== 1)
            throw new TrainerError(
              'shape_mismatch',
              `${where}: label '${col}' has ${f.values.length} values, expected 1`,
              'label',
            );
          labels.push(f.values[0]!);
        } else {
          for (const v of f.values) xs.push(v);
          count += f.values.length;
        }
      }
      if (count !== width) {
        throw new TrainerError(
          'shape_mismatch',
          `${where} has ${count} feature values but input_shape [${def.input_shape}] needs ${width}`,
          'input_shape',
        );
      }
    }
  }
  const n = labels.length;
  if (n === 0) throw new TrainerError('empty_dataset', 'the TFRecord dataset holds no records', 'dataset');
  const ys = new Float32Array(n * outputSize);
  labels.forEach((l, i) => writeTarget(ys, i, outputSize, l, `TFRecord record ${i}`));
  return { kind: 'tfrecord', n, inputShape: def.input_shape, outputSize, xs: Float32Array.from(xs), ys };
}
