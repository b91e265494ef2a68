/**
 * Contracts of a training job as the areas exchange and the APIs answer them: states, inputs, model
 * metadata, runner, publication, events and the job view. The job states themselves are in
 * schema/job-states.ts (no zod: the CLI and the dashboard read them too).
 */
import { z } from 'zod';
import { jobStates } from './job-states.ts';

export { jobStates, terminalJobStates } from './job-states.ts';
export const JobState = z.enum(jobStates);
export type JobState = z.infer<typeof JobState>;

/** ISO 8601 timestamps; the format is documentation only (stored values are never re-validated). */
const timestamp = z.string().meta({ format: 'date-time' });
const digest = z.string().meta({ description: 'sha256:<hex>' });

/** Role of a job input file. */
export const InputRole = z.enum(['model', 'dataset', 'dataset_definition', 'params', 'other']);
export type InputRole = z.infer<typeof InputRole>;

export const JobInputFile = z.object({
  role: InputRole,
  /** File name as uploaded (sanitized) — also its name under the job's /input. */
  name: z.string(),
  /** Absolute path on the server's disk (never in API answers: see JobView.inputs). */
  path: z.string(),
  digest,
  size: z.number().int().nonnegative(),
});
export type JobInputFile = z.infer<typeof JobInputFile>;

/**
 * The platform's trainers. A model job's `framework` field picks one: `keras` runs the Keras trainer
 * (trainer/keras_trainer, Keras 3 on JAX); anything else the seed sends (`tensorflow`, `tfjs`) the default TF.js one.
 */
export const trainerFrameworks = ['tfjs', 'keras'] as const;
export type TrainerFramework = (typeof trainerFrameworks)[number];
export const trainerFramework = (framework: string): TrainerFramework => (framework === 'keras' ? 'keras' : 'tfjs');
/**
 * AIBOMGEN_TRAINER_AUTO: `keras` (default) lets a TF.js-framework job run on the Keras trainer when its image is
 * built and the model maps exactly (server/jobs/runners/trainer-choice.ts); `off` always runs the TF.js trainer.
 */
export const trainerAutoModes = ['keras', 'off'] as const;
export type TrainerAuto = (typeof trainerAutoModes)[number];
/** How the trainer that ran was chosen: from the job's `framework`, or automatically (see above). */
export const TrainerChoice = z.enum(['requested', 'auto']);
export type TrainerChoice = z.infer<typeof TrainerChoice>;

/** A GPU device id as nvidia-smi names it: an index (`0`), a UUID (`GPU-…`) or a MIG id (`MIG-…`). */
const gpuDeviceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/, 'expected a GPU index or UUID');

/**
 * What a job asks of the GPUs (the docker runner's DeviceRequests): `true` every GPU of the worker, a count,
 * or device ids. `false` / `0`: none.
 */
export const GpuRequest = z.union([z.boolean(), z.number().int().min(0).max(64), z.array(gpuDeviceId).min(1).max(64)]);
export type GpuRequest = z.infer<typeof GpuRequest>;

/** GPUs a worker needs to serve the request (`true` needs at least one). */
export const gpusWanted = (g: GpuRequest | undefined): number =>
  g === true ? 1 : typeof g === 'number' ? g : Array.isArray(g) ? g.length : 0;

/**
 * The text form of a GPU request (a form field, a CLI flag): `true`/`false`/`all`/`none`, a count (`2`), a
 * comma-separated id list (`0,1` or `GPU-…`) or a JSON array of ids.
 */
export const gpuField = z
  .string()
  .trim()
  .max(4096)
  .transform((s): unknown => {
    const l = s.toLowerCase();
    if (l === '' || l === 'false' || l === 'none') return false;
    if (l === 'true' || l === 'all') return true;
    if (/^\d+$/.test(s)) return Number(s);
    if (s.startsWith('[')) {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return s;
      }
    }
    return s.split(',').map((p) => p.trim());
  })
  .pipe(GpuRequest);

const optText = z.string().trim().min(1).max(4096).optional();

/**
 * The seed's optional model metadata fields, carried into the AIBoM's model card. The same schema
 * validates the submit forms (schema/api.ts `modelMetadataFields`), so what is stored is what it allows.
 */
export const ModelMetadata = z.object({
  model_name: optText,
  model_version: optText,
  model_description: optText,
  author: optText,
  model_type: optText,
  base_model: optText,
  base_model_source: z.string().trim().url().optional(),
  intended_use: optText,
  out_of_scope: optText,
  misuse_or_malicious: optText,
  license_name: optText,
});
export type ModelMetadata = z.infer<typeof ModelMetadata>;

export const RunnerInfo = z.object({
  kind: z.enum(['docker', 'process']),
  /** False for the process runner: the AIBoM says so plainly. */
  isolated: z.boolean(),
  image: z.string().optional(),
  imageDigest: z.string().optional(),
  /** The engine's image id (the config digest) of the image that ran. */
  imageId: z.string().optional(),
  /** e.g. "podman 4.3.1 (Docker API 1.41)" */
  runtime: z.string().optional(),
  command: z.array(z.string()),
  /** Job kind: the platform's own trainer or a user-supplied trainer image (the link's step says which). */
  trainer: z.enum(['platform', 'image']).optional(),
  /** The platform trainer that ran (a platform-trainer job; the runner decides, see TrainerChoice). */
  framework: z.enum(trainerFrameworks).optional(),
  trainerChoice: TrainerChoice.optional(),
});
export type RunnerInfo = z.infer<typeof RunnerInfo>;

export const AttestationRef = z.object({
  kind: z.enum([
    'aibom',
    'in-toto-link',
    'slsa-provenance',
    'cosign-signature',
    'aibom-signature',
    'model-signature',
    'test-result',
    'spdx',
    'other',
  ]),
  mediaType: z.string(),
  artifactType: z.string().optional(),
  digest,
});
export type AttestationRef = z.infer<typeof AttestationRef>;

/** Where a job's model was published. */
export const Publication = z.object({
  /** e.g. 127.0.0.1:8080/models/mnist:1.0.0 */
  ref: z.string(),
  repository: z.string(),
  tag: z.string(),
  digest,
  inputs: z.array(z.object({ role: InputRole, repository: z.string(), digest })),
  attestations: z.array(AttestationRef),
});
export type Publication = z.infer<typeof Publication>;

const eventBase = { jobId: z.string(), seq: z.number().int(), at: timestamp };
const metricLogs = z.record(z.string(), z.number());

/** Job state changes and trainer progress, in order per job (`seq`). */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({ ...eventBase, type: z.literal('state'), state: JobState, reason: z.string().optional() }),
  z.object({ ...eventBase, type: z.literal('epoch'), epoch: z.number().int(), logs: metricLogs }),
  z.object({
    ...eventBase,
    type: z.literal('batch'),
    epoch: z.number().int(),
    batch: z.number().int(),
    logs: metricLogs,
  }),
  z.object({ ...eventBase, type: z.literal('log'), line: z.string() }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

export const JobView = z.object({
  id: z.string(),
  state: JobState,
  owner: z.string(),
  framework: z.string(),
  /**
   * The trainer that runs (or ran) a model job: the runner's record once it ran (it may have chosen the Keras
   * trainer for a TF.js job, `trainerChoice: auto`), before that the one `framework` names; absent for image jobs.
   */
  trainer: z.enum(trainerFrameworks).optional(),
  trainerChoice: TrainerChoice.optional(),
  /** The GPU request, when the job made one. */
  gpu: GpuRequest.optional(),
  reason: z.string().optional(),
  params: z.record(z.string(), z.unknown()),
  metadata: ModelMetadata,
  inputs: z.array(JobInputFile.omit({ path: true })),
  runner: RunnerInfo.optional(),
  createdAt: timestamp,
  startedAt: timestamp.optional(),
  finishedAt: timestamp.optional(),
  publication: Publication.optional(),
  metrics: z.record(z.string(), z.unknown()).optional(),
  /** PoC flow: the trainer image and command the job named. */
  image: z.string().optional(),
  command: z.array(z.string()).optional(),
});
export type JobView = z.infer<typeof JobView>;
