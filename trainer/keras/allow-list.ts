/**
 * The layer classes a submitted topology may use, and size caps checked on the JSON before anything is
 * built (so a hostile topology can't make the trainer allocate gigabytes first and fail later).
 */
import { TrainerError } from '../errors.ts';

export const allowedLayers = new Set([
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'Flatten',
  'Reshape',
  'Dropout',
  'BatchNormalization',
  'Activation',
  'ReLU',
  'Softmax',
  'Rescaling',
]);
const containers = new Set(['Sequential', 'Model', 'Functional']);

export const MAX_LAYERS = 256;
export const MAX_UNITS = 16_384;
export const MAX_DIM = 4_096;

type Json = { [k: string]: unknown };
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Walks a (Keras or TF.js) model topology and throws on any layer class outside the allow-list or over a cap. */
export function checkTopology(topology: unknown): void {
  let count = 0;
  const visit = (node: unknown, where: string): void => {
    if (!isObj(node)) throw new TrainerError('bad_model', `${where}: expected a layer object`, 'model');
    const cls = node.class_name;
    if (typeof cls !== 'string') throw new TrainerError('bad_model', `${where}: layer has no class_name`, 'model');
    const config = isObj(node.config) ? node.config : {};
    if (containers.has(cls)) {
      const layers = Array.isArray(node.config) ? node.config : config.layers;
      if (!Array.isArray(layers)) throw new TrainerError('bad_model', `${where}: ${cls} has no layers`, 'model');
      layers.forEach((l, i) => visit(l, `${where}.layers[${i}]`));
      return;
    }
    if (!allowedLayers.has(cls)) {
      throw new TrainerError(
        'unsupported_layer',
        `unsupported layer '${cls}'${typeof config.name === 'string' ? ` (${config.name})` : ''}; supported: ${[...allowedLayers].join(', ')}`,
        'model',
      );
    }
    if (++count > MAX_LAYERS) throw new TrainerError('bad_model', `model has more than ${MAX_LAYERS} layers`, 'model');
    for (const key of ['units', 'filters'] as const) {
      const v = config[key];
      if (typeof v === 'number' && (v > MAX_UNITS || v < 1))
        throw new TrainerError(
          'bad_model',
          `layer '${String(config.name)}': ${key} ${v} is outside 1..${MAX_UNITS}`,
          'model',
        );
    }
    for (const key of [
      'batch_input_shape',
      'batch_shape',
      'batchInputShape',
      'input_shape',
      'kernel_size',
      'pool_size',
      'target_shape',
    ]) {
      const v = config[key];
      if (Array.isArray(v) && v.some((d) => typeof d === 'number' && d > MAX_DIM)) {
        throw new TrainerError(
          'bad_model',
          `layer '${String(config.name)}': ${key} [${v}] has a dimension over ${MAX_DIM}`,
          'model',
        );
      }
    }
  };
  visit(topology, 'model');
}
