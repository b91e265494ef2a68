/**
 * Entry point: `tsx trainer/main.ts --input <dir> --output <dir>` (bundled: `node trainer/dist/trainer.mjs`).
 *
 * One training run, input dir → output dir: validate inputs, pick the backend, seed, load model and dataset,
 * check shapes, train with progress on stdout, then write model, metrics.json and logs.txt (or only
 * error.json). Returns the exit code.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProgressLine, TrainMetrics } from '../schema/trainer.ts';
import * as tf from './tf.ts';
import { initBackend } from './backend/index.ts';
import { seedEverything } from './backend/seed.ts';
import { loadDataset } from './datasets/index.ts';
import { TrainerError, toTrainerError } from './errors.ts';
import { readDefinition, readParams } from './inputs/definition.ts';
import { locateDataset, locateModel } from './inputs/locate.ts';
import { loadTfjsModel } from './inputs/tfjs-model.ts';
import { compileModel, type CompileSpec } from './keras/compile.ts';
import { loadKerasModel, type KerasModel } from './keras/load.ts';
import { saveKerasModel } from './outputs/keras.ts';
import { OutputStaging } from './outputs/staging.ts';
import { saveTfjsModel } from './outputs/tfjs.ts';
import { checkMemoryBudget, memoryBudgetBytes, train } from './train.ts';
import { parseCli } from './cli.ts';

const BATCH_LINE_INTERVAL_MS = 500;

function emit(line: ProgressLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Model vs definition, checked before the dataset is read so a mismatch fails fast. */
function checkShapes(model: tf.LayersModel, inputShape: number[], outputSize: number): void {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new TrainerError(
      'shape_mismatch',
      `model has ${model.inputs.length} inputs and ${model.outputs.length} outputs; expected 1 and 1`,
      'model',
    );
  }
  const fits = (have: (number | null)[], want: number[]) =>
    have.length === want.length && have.every((d, i) => d === null || d === want[i]);
  const inShape = model.inputs[0]!.shape.slice(1);
  const outShape = model.outputs[0]!.shape.slice(1);
  if (!fits(inShape, inputShape)) {
    throw new TrainerError(
      'shape_mismatch',
      `model input shape [${inShape}] does not match the definition's input_shape [${inputShape}]`,
      'input_shape',
    );
  }
  if (!fits(outShape, [outputSize])) {
    throw new TrainerError(
      'shape_mismatch',
      `model output shape [${outShape}] does not match the definition's output_shape [${outputSize}]`,
      'output_shape',
    );
  }
}

export async function runTraining(inputDir: string, outputDir: string): Promise<number> {
  const staging = new OutputStaging(outputDir);
  const logLines: string[] = [];
  const log = (s: string) => {
    const line = `${new Date().toISOString()} ${s}`;
    logLines.push(line);
    process.stderr.write(`${line}\n`);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      const record = new TrainerError('internal', `terminated by ${signal}`).toRecord();
      emit(record);
      staging.failSync(record);
      process.exit(signal === 'SIGTERM' ? 143 : 130);
    });
  }
  try {
    await staging.open();
    const def = await readDefinition(inputDir);
    const params = await readParams(inputDir);
    const modelSrc = locateModel(inputDir);
    const dataSrc = locateDataset(inputDir);
    const backend = await initBackend();
    seedEverything(params.seed);
    log(`backend ${backend.name}; seed ${params.seed}`);

    let keras: KerasModel | undefined;
    let model: tf.LayersModel;
    let fromModel: CompileSpec = {};
    if (modelSrc.format === 'keras') {
      keras = await loadKerasModel(modelSrc.kerasFile);
      model = keras.model;
      fromModel = keras.compile;
    } else model = await loadTfjsModel(modelSrc.modelJson);
    log(`model ${modelSrc.format}: ${model.layers.length} layers, ${model.countParams()} parameters`);
    checkShapes(model, def.input_shape, def.output_shape[0]!);

    const ds = await loadDataset(dataSrc, def);
    log(`dataset ${ds.kind}: ${ds.n} samples, input [${ds.inputShape}], output [${ds.outputSize}]`);
    checkMemoryBudget(model.countParams(), ds, memoryBudgetBytes(backend.name));
    compileModel(model, params, ds.outputSize, fromModel);

    emit({
      type: 'start',
      backend: backend.name,
      seed: params.seed,
      epochs: params.epochs,
      samples: ds.n,
      params: model.countParams(),
    });
    let lastBatchLine = 0;
    const result = await train(model, ds, params, {
      log,
      onBatch(epoch, batch, logs) {
        const now = performance.now();
        if (now - lastBatchLine < BATCH_LINE_INTERVAL_MS) return;
        lastBatchLine = now;
        emit({ type: 'batch', epoch: epoch + 1, batch, logs });
      },
      onEpoch(epoch, logs) {
        emit({ type: 'epoch', epoch, logs });
        log(
          `epoch ${epoch}: ${Object.entries(logs)
            .map(([k, v]) => `${k}=${v.toFixed(4)}`)
            .join(' ')}`,
        );
      },
    });
    const samplesPerSecond = result.seconds > 0 ? result.samplesSeen / result.seconds : 0;

    await saveTfjsModel(model, join(staging.dir, 'model'));
    if (keras) await saveKerasModel(model, keras, join(staging.dir, 'model', 'model.keras'));
    const metrics: TrainMetrics = {
      history: result.history,
      final: result.final,
      samples_per_second: samplesPerSecond,
      train_seconds: result.seconds,
      backend: backend.name,
      seed: params.seed,
      versions: { ...backend.versions, 'tfjs-layers': tf.version_layers },
      dataset: {
        kind: ds.kind,
        samples: ds.n,
        train_samples: result.trainSamples,
        validation_samples: result.validationSamples,
      },
      model: { format: modelSrc.format, param_count: model.countParams(), layers: model.layers.length },
      params: { ...params },
    };
    await writeFile(join(staging.dir, 'metrics.json'), `${JSON.stringify(metrics, null, 2)}\n`);
    log(
      `done: ${result.history.length} epochs in ${result.seconds.toFixed(2)} s, ${samplesPerSecond.toFixed(0)} samples/s`,
    );
    await writeFile(join(staging.dir, 'logs.txt'), `${logLines.join('\n')}\n`);
    await staging.commit();
    emit({ type: 'done', epochs: result.history.length, final: result.final, samples_per_second: samplesPerSecond });
    return 0;
  } catch (err) {
    const e = toTrainerError(err);
    if (e.code === 'internal') process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
    emit(e.toRecord());
    try {
      await staging.fail(e.toRecord());
    } catch (writeErr) {
      process.stderr.write(`could not write error.json: ${(writeErr as Error).message}\n`);
    }
    return e.exitCode;
  }
}

let exitCode: number;
try {
  const opts = parseCli(process.argv);
  exitCode = opts ? await runTraining(opts.input, opts.output) : 0;
} catch (e) {
  // Only argument errors get here (commander has already printed them).
  process.stdout.write(`${JSON.stringify({ type: 'error', code: 'bad_params', message: (e as Error).message })}\n`);
  exitCode = 1;
}
process.exit(exitCode);
