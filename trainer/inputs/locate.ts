/** Finds the model and dataset files in the input directory (the layout of the trainer's contract). */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TrainerError } from '../errors.ts';

export type ModelSource = { format: 'tfjs'; modelJson: string } | { format: 'keras'; kerasFile: string };
export type DatasetSource =
  | { kind: 'csv'; file: string }
  | { kind: 'images'; file: string }
  | { kind: 'tfrecord'; files: string[] };

export function locateModel(inputDir: string): ModelSource {
  const dir = join(inputDir, 'model');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new TrainerError('missing_input', 'model/ is missing from the input', 'model');
  }
  const names = readdirSync(dir);
  if (names.includes('model.json')) return { format: 'tfjs', modelJson: join(dir, 'model.json') };
  const keras = names.filter((n) => n.endsWith('.keras'));
  if (keras.length === 1 && keras[0]) return { format: 'keras', kerasFile: join(dir, keras[0]) };
  if (keras.length > 1)
    throw new TrainerError('bad_model', `model/ holds ${keras.length} .keras files; expected one`, 'model');
  throw new TrainerError('missing_input', 'model/ holds neither model.json nor a .keras file', 'model');
}

export function locateDataset(inputDir: string): DatasetSource {
  const at = (n: string) => join(inputDir, n);
  if (existsSync(at('dataset.csv'))) return { kind: 'csv', file: at('dataset.csv') };
  if (existsSync(at('dataset.zip'))) return { kind: 'images', file: at('dataset.zip') };
  if (existsSync(at('dataset.tfrecord'))) return { kind: 'tfrecord', files: [at('dataset.tfrecord')] };
  if (existsSync(at('dataset')) && statSync(at('dataset')).isDirectory()) {
    const files = readdirSync(at('dataset'))
      .filter((n) => n.endsWith('.tfrecord'))
      .sort()
      .map((n) => join(at('dataset'), n));
    if (files.length) return { kind: 'tfrecord', files };
  }
  throw new TrainerError(
    'missing_input',
    'no dataset in the input: expected dataset.csv, dataset.zip, dataset.tfrecord or dataset/*.tfrecord',
    'dataset',
  );
}
