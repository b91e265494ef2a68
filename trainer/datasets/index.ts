/** Loads whichever dataset the input holds and applies the definition's preprocessing. */
import type { DatasetDefinition } from '../../schema/trainer.ts';
import type { DatasetSource } from '../inputs/locate.ts';
import { loadCsv } from './csv.ts';
import { loadImageZip } from './images.ts';
import { preprocess } from './preprocess.ts';
import { loadTfRecords } from './tfrecord.ts';
import type { LoadedDataset } from './types.ts';

export type { LoadedDataset } from './types.ts';

export async function loadDataset(src: DatasetSource, def: DatasetDefinition): Promise<LoadedDataset> {
  const ds =
    src.kind === 'csv'
      ? await loadCsv(src.file, def)
      : src.kind === 'images'
        ? await loadImageZip(src.file, def)
        : await loadTfRecords(src.files, def);
  preprocess(ds, def.preprocessing);
  return ds;
}
