/** Loads a TF.js Layers model (`model.json` + optional weight files) from disk, after the allow-list check. */
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import * as tf from '../tf.ts';
import { TrainerError } from '../errors.ts';
import { checkTopology } from '../keras/allow-list.ts';
import { registerCustomLayers } from '../keras/rescaling.ts';

interface ModelJson {
  modelTopology?: unknown;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  trainingConfig?: tf.io.TrainingConfig;
}

export async function loadTfjsModel(modelJsonPath: string): Promise<tf.LayersModel> {
  registerCustomLayers();
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (e) {
    throw new TrainerError('bad_model', `model/model.json is not valid JSON: ${(e as Error).message}`, 'model');
  }
  if (!json || typeof json !== 'object' || !json.modelTopology) {
    throw new TrainerError(
      'bad_model',
      'model/model.json has no modelTopology (expected a TF.js Layers model)',
      'model',
    );
  }
  const topology = (json.modelTopology as { model_config?: unknown }).model_config ?? json.modelTopology;
  checkTopology(topology);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
  };
  if (json.trainingConfig) artifacts.trainingConfig = json.trainingConfig;
  if (json.weightsManifest?.length) {
    const dir = dirname(modelJsonPath);
    const buffers: Buffer[] = [];
    const specs: tf.io.WeightsManifestEntry[] = [];
    for (const group of json.weightsManifest) {
      for (const p of group.paths) {
        const rel = normalize(p);
        if (isAbsolute(rel) || rel.startsWith('..'))
          throw new TrainerError('bad_model', `model.json weight path '${p}' leaves model/`, 'model');
        try {
          buffers.push(await readFile(join(dir, rel)));
        } catch {
          throw new TrainerError('bad_model', `model.json names weight file '${p}', which is missing`, 'model');
        }
      }
      specs.push(...group.weights);
    }
    const all = Buffer.concat(buffers);
    artifacts.weightSpecs = specs;
    artifacts.weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  }
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    const msg = (e as Error).message;
    if (/Unknown layer/.test(msg)) throw new TrainerError('unsupported_layer', msg, 'model');
    throw new TrainerError('bad_model', `model/model.json could not be loaded: ${msg}`, 'model');
  }
}
