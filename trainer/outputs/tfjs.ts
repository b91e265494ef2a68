/** Writes a model as TF.js Layers files (`model.json` + one `weights.bin`), optimizer state included. */
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '../tf.ts';

export async function saveTfjsModel(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const weights = a.weightData ? new Uint8Array(tf.io.CompositeArrayBuffer.join(a.weightData)) : new Uint8Array();
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: a.modelTopology,
        ...(a.trainingConfig ? { trainingConfig: a.trainingConfig } : {}),
        weightsManifest: [{ paths: ['weights.bin'], weights: a.weightSpecs ?? [] }],
      };
      await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
      await writeFile(join(dir, 'weights.bin'), weights);
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }),
    { includeOptimizer: true },
  );
}
