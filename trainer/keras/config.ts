/**
 * Keras 3 `config.json` → TF.js Layers topology. Keras 3 wraps every object as {module, class_name, config,
 * registered_name}, keeps dtype policies as objects and input shapes as `batch_shape`; tfjs wants plain
 * {class_name, config}, dtype strings and `batch_input_shape` (it camel-cases keys itself). Keras-3-only
 * options tfjs does not know are dropped.
 */
import { TrainerError } from '../errors.ts';

const dropped = new Set([
  'module',
  'registered_name',
  'build_config',
  'compile_config',
  'shared_object_id',
  'optional',
  'ragged',
  'synchronized',
  'renorm',
  'renorm_clipping',
  'renorm_momentum',
  'groups',
  'input_axes',
  'output_axes',
  'lora_rank',
  'lora_alpha',
  'quantization_config',
]);

function convert(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(convert);
  if (typeof v !== 'object' || v === null) return v;
  const o = v as Record<string, unknown>;
  if (typeof o.class_name === 'string' && /DTypePolicy$/.test(o.class_name)) {
    return ((o.config as { name?: string } | undefined)?.name ?? 'float32').replace(/^mixed_/, '');
  }
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(o)) {
    if (dropped.has(k)) continue;
    out[k === 'batch_shape' ? 'batch_input_shape' : k] = convert(val);
  }
  return out;
}

export interface KerasConfig {
  class_name: string;
  config: { name?: string; layers?: { class_name: string; config: { name: string } }[] };
  compile_config?: {
    optimizer?: string | { class_name?: string; config?: { learning_rate?: number } };
    loss?: unknown;
    metrics?: unknown;
  } | null;
}

export function kerasToTfjsTopology(cfg: KerasConfig): Record<string, unknown> {
  if (cfg.class_name !== 'Sequential') {
    throw new TrainerError(
      'bad_model',
      `.keras model is a ${cfg.class_name}; only Sequential .keras models are supported`,
      'model',
    );
  }
  return {
    class_name: 'Sequential',
    config: convert(cfg.config),
    keras_version: 'tfjs-layers',
    backend: 'tensor_flow.js',
  };
}
