/**
 * Which platform trainer runs a model job. The `framework` a job names picks one (schema/jobs.ts); in addition a
 * TF.js-framework job runs on the Keras trainer instead when that trains the same model faster (issue #17: Keras on
 * JAX fits the bench MLP 7–16× faster than TF.js wasm on 2 cores) with outputs of the TF.js trainer's form:
 *  - the operator did not turn it off (AIBOMGEN_TRAINER_AUTO=off; default keras),
 *  - the model is a TF.js layers model.json or a Sequential `.keras` whose every layer class maps exactly between
 *    the two libraries (TFJS_KERAS_LAYERS); the Keras trainer then writes what the TF.js trainer would: a TF.js
 *    model.json + weights.bin (plus the model.keras for a .keras input), trainer/keras_trainer/tfjs_model.py,
 *  - the Keras trainer's image is already built for this node (never built on demand for this).
 * Otherwise the requested trainer runs, and the reason is logged with the job.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { strFromU8, unzipSync } from 'fflate';
import type { TrainerAuto, TrainerChoice, TrainerFramework } from '../../../schema/jobs.ts';
import { allowedLayers } from '../../../trainer/keras/allow-list.ts';

export type { TrainerAuto, TrainerChoice };

/**
 * TF.js layer classes with the same function, weights and weight order in Keras 3: the layers the TF.js trainer
 * itself accepts from a `.keras` topology (trainer/keras/allow-list.ts), one list for both directions. Keep in
 * step with SUPPORTED_LAYERS in trainer/keras_trainer/tfjs_model.py (test/trainer/keras-tfjs-model.test.ts
 * compares them).
 */
export const TFJS_KERAS_LAYERS: ReadonlySet<string> = allowedLayers;
const CONTAINERS = new Set(['Sequential', 'Model', 'Functional']);
/** A model.json bigger than this is left to the TF.js trainer (it is read here only to list its layers). */
const MAX_PROBE_BYTES = 32 * 1024 * 1024;
/** A .keras is read whole to find its config.json: bigger ones are left to the TF.js trainer. */
const MAX_KERAS_PROBE_BYTES = 512 * 1024 * 1024;

/** What the job's model/ directory holds, as far as the choice is concerned. */
export type ModelProbe = { kind: 'tfjs' | 'keras'; unsupported?: string } | { kind: 'other'; detail: string };

export interface TrainerDecision {
  framework: TrainerFramework;
  choice: TrainerChoice;
  /** Why: a line for the job's log. */
  reason: string;
}

/** The decision itself (pure): `imagePresent` is only consulted once everything else allows the Keras trainer. */
export function decideTrainer(i: {
  requested: TrainerFramework;
  auto: TrainerAuto;
  model: ModelProbe;
  imagePresent: boolean;
}): TrainerDecision {
  const stay = (reason: string): TrainerDecision => ({ framework: i.requested, choice: 'requested', reason });
  if (i.requested !== 'tfjs') return stay(`trainer ${i.requested}: the job's framework`);
  if (i.auto === 'off') return stay('trainer tfjs: the automatic choice is off for this run (AIBOMGEN_TRAINER_AUTO)');
  if (i.model.kind === 'other') return stay(`trainer tfjs: ${i.model.detail}`);
  if (i.model.unsupported)
    return stay(`trainer tfjs: layer ${i.model.unsupported} has no exact Keras equivalent in the Keras trainer`);
  if (!i.imagePresent) return stay('trainer tfjs: the Keras trainer image is not built on this node');
  return {
    framework: 'keras',
    choice: 'auto',
    reason: `trainer keras, chosen automatically for a ${i.model.kind === 'tfjs' ? 'TF.js' : '.keras'} model (AIBOMGEN_TRAINER_AUTO=keras; the outputs are the TF.js trainer's)`,
  };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first layer class outside TFJS_KERAS_LAYERS, as `Class (name)`; '' when all map; undefined when unreadable. */
export function unsupportedLayer(topology: unknown): string | undefined {
  const visit = (node: unknown): string | undefined => {
    if (!isObj(node) || typeof node.class_name !== 'string') return undefined;
    const config = node.config;
    if (CONTAINERS.has(node.class_name)) {
      const layers = Array.isArray(config) ? config : isObj(config) ? config.layers : undefined;
      if (!Array.isArray(layers)) return undefined;
      for (const l of layers) {
        const found = visit(l);
        if (found !== '') return found;
      }
      return '';
    }
    if (TFJS_KERAS_LAYERS.has(node.class_name)) return '';
    const name = isObj(config) && typeof config.name === 'string' ? ` (${config.name})` : '';
    return `${node.class_name}${name}`;
  };
  return visit(topology);
}

/** Reads the job's model/ directory (the trainer's input contract, trainer/inputs/locate.ts) for the choice. */
export async function probeModel(inputDir: string): Promise<ModelProbe> {
  const dir = join(inputDir, 'model');
  const names = await readdir(dir).catch(() => [] as string[]);
  const kerasFiles = names.filter((n) => n.endsWith('.keras'));
  if (!names.includes('model.json'))
    return kerasFiles.length === 1 && kerasFiles[0]
      ? probeKeras(join(dir, kerasFiles[0]))
      : { kind: 'other', detail: 'model/ holds no single model' };
  if (kerasFiles.length) return { kind: 'other', detail: 'model/ holds both model.json and a .keras file' };
  const file = join(dir, 'model.json');
  if ((await stat(file)).size > MAX_PROBE_BYTES)
    return { kind: 'other', detail: `model.json is over ${MAX_PROBE_BYTES} bytes` };
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return { kind: 'other', detail: 'model.json is not valid JSON' };
  }
  const topology = isObj(doc) ? doc.modelTopology : undefined;
  const config = isObj(topology) && topology.model_config !== undefined ? topology.model_config : topology;
  const bad = unsupportedLayer(config);
  if (bad === undefined) return { kind: 'other', detail: 'model.json has no readable modelTopology' };
  if (bad) return { kind: 'tfjs', unsupported: bad };
  // Weights the Keras loader refuses (quantised, not float32) stay with the TF.js trainer, which reads them.
  const manifest = isObj(doc) && Array.isArray(doc.weightsManifest) ? doc.weightsManifest : [];
  for (const g of manifest) {
    const weights = isObj(g) && Array.isArray(g.weights) ? g.weights : [];
    for (const w of weights) {
      if (!isObj(w) || w.group === 'optimizer') continue;
      if (w.quantization !== undefined || (w.dtype ?? 'float32') !== 'float32')
        return { kind: 'other', detail: `weight ${String(w.name)} is not plain float32` };
    }
  }
  return { kind: 'tfjs' };
}

/** A `.keras` zip's config.json: the TF.js trainer takes Sequential models of the allow-listed layers only. */
async function probeKeras(file: string): Promise<ModelProbe> {
  if ((await stat(file)).size > MAX_KERAS_PROBE_BYTES)
    return { kind: 'other', detail: `the .keras file is over ${MAX_KERAS_PROBE_BYTES} bytes` };
  let config: unknown;
  try {
    const entries = unzipSync(new Uint8Array(await readFile(file)), { filter: (f) => f.name === 'config.json' });
    config = JSON.parse(strFromU8(entries['config.json'] ?? new Uint8Array()));
  } catch {
    return { kind: 'other', detail: 'the .keras file has no readable config.json' };
  }
  if (!isObj(config) || config.class_name !== 'Sequential')
    return { kind: 'other', detail: 'the .keras model is not Sequential' };
  const bad = unsupportedLayer(config);
  if (bad === undefined) return { kind: 'other', detail: 'the .keras config.json lists no layers' };
  return bad ? { kind: 'keras', unsupported: bad } : { kind: 'keras' };
}
