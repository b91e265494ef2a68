/**
 * Loads a Keras 3 `.keras` file (zip of config.json + model.weights.h5 + metadata.json): the config is mapped
 * to a TF.js topology, the weights read with h5wasm from `layers/<key>/vars/<i>` (the `vars` group's `name`
 * attribute names the layer).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import * as tf from '../tf.ts';
import { TrainerError } from '../errors.ts';
import { unzipSafely } from '../datasets/safe-unzip.ts';
import { checkTopology } from './allow-list.ts';
import type { CompileSpec } from './compile.ts';
import { kerasToTfjsTopology, type KerasConfig } from './config.ts';
import { loadH5 } from './h5.ts';
import { registerCustomLayers } from './rescaling.ts';

export interface KerasModel {
  model: tf.LayersModel;
  /** The original config.json text, written back unchanged into the output `.keras`. */
  configJson: string;
  /** h5 group key (under `layers/`) → layer name, in file order, for writing the weights back. */
  layerKeys: { key: string; name: string }[];
  compile: CompileSpec;
}

function compileSpec(cfg: KerasConfig): CompileSpec {
  const cc = cfg.compile_config;
  if (!cc) return {};
  const spec: CompileSpec = {};
  if (typeof cc.optimizer === 'string') spec.optimizer = cc.optimizer;
  else if (cc.optimizer?.class_name) {
    spec.optimizer = cc.optimizer.class_name;
    if (typeof cc.optimizer.config?.learning_rate === 'number') spec.learningRate = cc.optimizer.config.learning_rate;
  }
  // Losses and metrics are names or serialized objects ({class_name: 'BinaryCrossentropy', ...}).
  const nameOf = (v: unknown): string | undefined => {
    if (typeof v === 'string') return v;
    const cls = (v as { class_name?: unknown } | null)?.class_name;
    return typeof cls === 'string' ? cls.charAt(0).toLowerCase() + cls.slice(1) : undefined;
  };
  const loss = nameOf(cc.loss);
  if (loss) spec.loss = loss;
  if (Array.isArray(cc.metrics)) {
    const metrics = cc.metrics.map(nameOf).filter((m): m is string => m !== undefined);
    if (metrics.length)
      spec.metrics = metrics.map((m) => (m === 'binaryAccuracy' || m === 'categoricalAccuracy' ? 'accuracy' : m));
  }
  return spec;
}

export async function loadKerasModel(file: string): Promise<KerasModel> {
  registerCustomLayers();
  const label = `model/${basename(file)}`;
  const entries = await unzipSafely(file, label, { maxEntries: 100, maxTotalBytes: 1024 ** 3, maxRatio: 1000 });
  const configBytes = entries.get('config.json');
  const weights = entries.get('model.weights.h5');
  if (!configBytes || !weights)
    throw new TrainerError('bad_model', `${label} lacks config.json or model.weights.h5`, 'model');
  const configJson = new TextDecoder().decode(configBytes);
  let cfg: KerasConfig;
  try {
    cfg = JSON.parse(configJson) as KerasConfig;
  } catch (e) {
    throw new TrainerError('bad_model', `${label} config.json is not valid JSON: ${(e as Error).message}`, 'model');
  }
  checkTopology(cfg);
  const topology = kerasToTfjsTopology(cfg);
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: topology as tf.io.ModelArtifacts['modelTopology'] }),
    );
  } catch (e) {
    throw new TrainerError('bad_model', `${label} could not be mapped to TF.js: ${(e as Error).message}`, 'model');
  }

  const h5wasm = await loadH5();
  const dir = await mkdtemp(join(tmpdir(), 'aibomgen-keras-'));
  const layerKeys: { key: string; name: string }[] = [];
  try {
    const h5path = join(dir, 'model.weights.h5');
    await writeFile(h5path, weights);
    let f: InstanceType<typeof h5wasm.File>;
    try {
      f = new h5wasm.File(h5path, 'r');
    } catch (e) {
      throw new TrainerError(
        'bad_model',
        `${label} model.weights.h5 is not readable HDF5: ${(e as Error).message}`,
        'model',
      );
    }
    try {
      const layers = f.get('layers');
      if (!(layers instanceof h5wasm.Group))
        throw new TrainerError('bad_model', `${label} model.weights.h5 has no layers group`, 'model');
      for (const key of layers.keys()) {
        const vars = f.get(`layers/${key}/vars`);
        if (!(vars instanceof h5wasm.Group)) continue;
        const nameAttr = vars.attrs.name?.value;
        const name = typeof nameAttr === 'string' ? nameAttr : key;
        layerKeys.push({ key, name });
        const values = vars
          .keys()
          .sort((a, b) => Number(a) - Number(b))
          .map((i) => {
            const d = f.get(`layers/${key}/vars/${i}`);
            if (!(d instanceof h5wasm.Dataset))
              throw new TrainerError('bad_model', `${label}: layers/${key}/vars/${i} is not a dataset`, 'model');
            return tf.tensor(Float32Array.from(d.value as ArrayLike<number>), d.shape ?? []);
          });
        if (!values.length) continue;
        let layer: tf.layers.Layer;
        try {
          layer = model.getLayer(name);
        } catch {
          throw new TrainerError(
            'bad_model',
            `${label}: weights for layer '${name}', which the config does not have`,
            'model',
          );
        }
        try {
          layer.setWeights(values);
        } catch (e) {
          throw new TrainerError(
            'bad_model',
            `${label}: weights of layer '${name}' do not fit: ${(e as Error).message}`,
            'model',
          );
        } finally {
          tf.dispose(values);
        }
      }
    } finally {
      f.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { model, configJson, layerKeys, compile: compileSpec(cfg) };
}
