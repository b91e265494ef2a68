/**
 * The trainer's contracts, shared by the trainer program and the platform: the dataset definition (the seed's
 * `dataset_definition.yaml`), training params (`params.json`), the JSON progress lines on stdout, the error
 * record and `metrics.json`. Every validation error names its field (`columns.age: ...`).
 */
import { z } from 'zod';

/** `image`: a TFRecord bytes feature holding a PNG (or raw uint8 pixels of input_shape). */
export const columnTypes = ['float', 'int', 'bool', 'image'] as const;

const positiveInt = z.number().int().positive();

export const preprocessingSchema = z
  .object({
    /** Min-max normalise each input feature to [0, 1] using the dataset's own range. */
    normalize: z.boolean().default(false),
    /** Clip every input value into [lo, hi] (after normalize). */
    clip: z
      .tuple([z.number(), z.number()])
      .refine(([lo, hi]) => lo <= hi, 'expected [lo, hi] with lo <= hi')
      .optional(),
    /** Multiply every input value by this factor (last step). */
    scale: z.number().finite().default(1),
  })
  .strict();

export const datasetDefinitionSchema = z
  .object({
    /** Column name → type. Tabular (CSV) and TFRecord datasets need it; image datasets don't. */
    columns: z.record(z.string().min(1), z.enum(columnTypes)).optional(),
    input_shape: z.array(positiveInt).min(1).max(4),
    output_shape: z.array(positiveInt).min(1).max(1),
    /** The label column (tabular/TFRecord) — defaults to `label`. */
    label: z.string().min(1).default('label'),
    preprocessing: preprocessingSchema.default({ normalize: false, scale: 1 }),
    /** Images: [height, width] every image is resized to. */
    image_size: z.tuple([positiveInt, positiveInt]).optional(),
    color_mode: z.enum(['grayscale', 'rgb']).optional(),
    /** Images: class folder names in label order (default: sorted folder names). */
    class_names: z.array(z.string().min(1)).optional(),
  })
  .strict();
export type DatasetDefinition = z.infer<typeof datasetDefinitionSchema>;

export const paramsSchema = z
  .object({
    epochs: positiveInt.max(10_000).default(50),
    validation_split: z.number().min(0).lt(1).default(0.2),
    initial_epoch: z.number().int().min(0).default(0),
    batch_size: positiveInt.max(65_536).default(32),
    steps_per_epoch: positiveInt.optional(),
    validation_steps: positiveInt.optional(),
    validation_freq: positiveInt.default(1),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .default(42),
    /** Used only when the model carries no training config. */
    optimizer: z.string().min(1).optional(),
    learning_rate: z.number().positive().optional(),
    loss: z.string().min(1).optional(),
    metrics: z.array(z.string().min(1)).optional(),
  })
  .strict()
  .refine((p) => p.initial_epoch < p.epochs, { message: 'must be less than epochs', path: ['initial_epoch'] });
export type TrainParams = z.infer<typeof paramsSchema>;

/** Formats a zod error as `field.path: message; ...` so every message names the field. */
export function describeZodError(err: z.ZodError): { message: string; field?: string } {
  const first = err.issues[0];
  const field = first?.path.length ? first.path.map(String).join('.') : undefined;
  const message = err.issues
    .map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  return field === undefined ? { message } : { message, field };
}

const logsSchema = z.record(z.string(), z.number());

export const errorCodes = [
  'bad_definition',
  'bad_params',
  'missing_input',
  'bad_model',
  'unsupported_layer',
  'shape_mismatch',
  'missing_column',
  'non_numeric',
  'empty_dataset',
  'corrupt_archive',
  'unsafe_archive',
  'out_of_memory',
  'internal',
] as const;
export type TrainerErrorCode = (typeof errorCodes)[number];

export const errorRecordSchema = z.object({
  type: z.literal('error'),
  code: z.enum(errorCodes),
  message: z.string(),
  field: z.string().optional(),
});
export type ErrorRecord = z.infer<typeof errorRecordSchema>;

export const progressLineSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    backend: z.string(),
    seed: z.number(),
    epochs: z.number(),
    samples: z.number(),
    params: z.number(),
  }),
  z.object({ type: z.literal('epoch'), epoch: z.number(), logs: logsSchema }),
  z.object({ type: z.literal('batch'), epoch: z.number(), batch: z.number(), logs: logsSchema }),
  z.object({ type: z.literal('done'), epochs: z.number(), final: logsSchema, samples_per_second: z.number() }),
  errorRecordSchema,
]);
export type ProgressLine = z.infer<typeof progressLineSchema>;

export const metricsSchema = z.object({
  history: z.array(z.object({ epoch: z.number(), logs: logsSchema })),
  final: logsSchema,
  samples_per_second: z.number(),
  train_seconds: z.number(),
  backend: z.string(),
  seed: z.number(),
  versions: z.record(z.string(), z.string()),
  dataset: z.object({
    kind: z.enum(['csv', 'images', 'tfrecord']),
    samples: z.number(),
    train_samples: z.number(),
    validation_samples: z.number(),
  }),
  model: z.object({ format: z.enum(['tfjs', 'keras']), param_count: z.number(), layers: z.number() }),
  params: z.record(z.string(), z.unknown()),
});
export type TrainMetrics = z.infer<typeof metricsSchema>;
