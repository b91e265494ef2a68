/** Compiles a model from params or the model's own (Keras) compile config, with defaults from the output size. */
import * as tf from '../tf.ts';
import type { TrainParams } from '../../schema/trainer.ts';
import { TrainerError } from '../errors.ts';

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

export function makeOptimizer(name: string, lr?: number): tf.Optimizer {
  switch (name.toLowerCase()) {
    case 'adam':
      return tf.train.adam(lr ?? 0.001);
    case 'sgd':
      return tf.train.sgd(lr ?? 0.01);
    case 'rmsprop':
      return tf.train.rmsprop(lr ?? 0.001);
    case 'adagrad':
      return tf.train.adagrad(lr ?? 0.01);
    case 'adamax':
      return tf.train.adamax(lr ?? 0.002);
    default:
      throw new TrainerError(
        'bad_params',
        `optimizer: '${name}' is not one of adam, sgd, rmsprop, adagrad, adamax`,
        'optimizer',
      );
  }
}

const losses = new Set([
  'binaryCrossentropy',
  'categoricalCrossentropy',
  'sparseCategoricalCrossentropy',
  'meanSquaredError',
  'meanAbsoluteError',
  'hinge',
  'huberLoss',
]);

export function lossName(raw: string): string {
  const l = camel(raw);
  const mapped = l === 'mse' ? 'meanSquaredError' : l === 'mae' ? 'meanAbsoluteError' : l;
  if (!losses.has(mapped))
    throw new TrainerError('bad_params', `loss: '${raw}' is not one of ${[...losses].join(', ')}`, 'loss');
  return mapped;
}

export interface CompileSpec {
  optimizer?: string;
  learningRate?: number;
  loss?: string;
  metrics?: string[];
}

/** Targets are one-hot, so sparse losses/metrics (common in Keras MNIST code) become their dense twins. */
function densify(name: string): string {
  if (name === 'sparseCategoricalCrossentropy') return 'categoricalCrossentropy';
  if (name === 'sparseCategoricalAccuracy') return 'accuracy';
  return name;
}

/** Compiles unless the model already carries a usable training config and params don't override it. */
export function compileModel(
  model: tf.LayersModel,
  params: TrainParams,
  outputSize: number,
  fromModel: CompileSpec = {},
): void {
  const override = params.optimizer || params.loss || params.metrics || params.learning_rate;
  const ownLoss = model.optimizer && typeof model.loss === 'string' ? model.loss : undefined;
  const sparse = ownLoss !== undefined && /sparse/i.test(ownLoss);
  if (model.optimizer && !override && !sparse) return;
  const lossRaw =
    params.loss ??
    (sparse ? ownLoss : undefined) ??
    fromModel.loss ??
    (outputSize === 1 ? 'binaryCrossentropy' : 'categoricalCrossentropy');
  // Keep a loaded model's optimizer (and its state) unless params name another one.
  const optimizer =
    model.optimizer && !params.optimizer && !params.learning_rate
      ? model.optimizer
      : makeOptimizer(
          params.optimizer ?? fromModel.optimizer ?? 'adam',
          params.learning_rate ?? fromModel.learningRate,
        );
  model.compile({
    optimizer,
    loss: densify(lossName(lossRaw)),
    metrics: (params.metrics ?? fromModel.metrics ?? ['accuracy']).map((m) =>
      densify(m === 'acc' ? 'accuracy' : camel(m)),
    ),
  });
}
