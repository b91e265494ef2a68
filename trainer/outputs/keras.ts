/**
 * Writes the trained model back as a Keras 3 `.keras` zip: the original config.json, a metadata.json and a
 * model.weights.h5 (h5wasm) with each layer's variables at `layers/<key>/vars/<i>`, the layout Keras reads.
 * Optimizer state is not carried over (Keras rebuilds it on the next compile).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import type * as tf from '../tf.ts';
import { loadH5 } from '../keras/h5.ts';
import type { KerasModel } from '../keras/load.ts';

export async function saveKerasModel(model: tf.LayersModel, src: KerasModel, file: string): Promise<void> {
  const h5wasm = await loadH5();
  const dir = await mkdtemp(join(tmpdir(), 'aibomgen-keras-out-'));
  try {
    const h5path = join(dir, 'model.weights.h5');
    const f = new h5wasm.File(h5path, 'w');
    try {
      f.create_group('layers');
      for (const { key, name } of src.layerKeys) {
        f.create_group(`layers/${key}`);
        const vars = f.create_group(`layers/${key}/vars`);
        vars.create_attribute('name', name);
        const weights = model.getLayer(name).getWeights();
        weights.forEach((w, i) => {
          vars.create_dataset({ name: String(i), data: w.dataSync() as Float32Array, shape: w.shape, dtype: '<f' });
        });
      }
      f.create_group('optimizer');
      f.create_group('optimizer/vars');
      f.create_group('vars');
    } finally {
      f.close();
    }
    const metadata = {
      keras_version: '3.0.0',
      date_saved: new Date().toISOString(),
      saved_by: 'aibomgen-trainer (TensorFlow.js)',
    };
    const zip = zipSync({
      'metadata.json': strToU8(JSON.stringify(metadata)),
      'config.json': strToU8(src.configJson),
      'model.weights.h5': new Uint8Array(await readFile(h5path)),
    });
    await writeFile(file, zip);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
