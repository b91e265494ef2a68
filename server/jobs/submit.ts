/**
 * Submitting a job from uploaded files: the one path REST (`POST /developer/submit_job_by_model_and_data`,
 * `…/submit_job_by_image`, parts streamed by busboy) and GraphQL (`submitTrainingJob`, files from yoga) take.
 * The same limits, the same validation (prepare.ts) and the same JobErrors, whoever asks; a refused
 * submission leaves nothing behind (its job directory is removed whole).
 */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type GpuRequest, gpuField, gpusWanted, trainerFramework } from '../../schema/jobs.ts';
import type { ModelNames } from '../attest/model-names.ts';
import type { Config } from '../config.ts';
import type { JobService, JobView, SubmitJobInput } from '../contracts.ts';
import { JobError } from './errors.ts';
import { jobDir } from './paths.ts';
import { prepareImageJob, prepareModelJob } from './prepare.ts';
import type { Runner } from './runners/port.ts';
import { receiveParts, type FormPart, type Multipart, type UploadLimits } from './uploads.ts';

export type { FormPart } from './uploads.ts';

export interface SubmitDeps {
  /** Where the job is queued; `runnerKind` says whether image jobs can run (they need the docker runner). */
  jobs: Pick<JobService, 'submit'> & { readonly runnerKind?: Runner['kind'] };
  config: Pick<Config, 'dataDir' | 'maxUploadBytes' | 'maxRequestBytes'>;
  /** Who owns which model name: another owner's name is refused (409) before the job is queued. */
  modelNames?: Pick<ModelNames, 'repository' | 'holder'>;
}

export interface Submission {
  /** Who submits: recorded as the job's owner. */
  owner: string;
  /** An administrator may publish under any model name. */
  admin?: boolean;
  /** False when the caller's token lacks the jobs:write scope (visibility.ts `maySubmit`): refused before reading. */
  allowed?: boolean;
  /** Text fields known up front (GraphQL arguments); counted and size-checked like streamed ones. */
  fields?: Record<string, string>;
  /** Files (and, from a streamed multipart body, text fields) in arrival order; each file stream is read once. */
  parts: AsyncIterable<FormPart> | Iterable<FormPart>;
  /** The request's declared size (Content-Length), when there is one: refused at once when over the limit. */
  declaredBytes?: number;
}

/** `model`: the seed's model + dataset + definition; `image`: a trainer image from the registry and its command. */
export type SubmissionKind = 'model' | 'image';

export function uploadLimits(config: SubmitDeps['config']): UploadLimits {
  return { fileBytes: config.maxUploadBytes, requestBytes: config.maxRequestBytes };
}

/** Receives, validates and lays out the submission's files, then queues the job. Throws JobError. */
export async function submitJob(deps: SubmitDeps, kind: SubmissionKind, sub: Submission): Promise<JobView> {
  if (sub.allowed === false)
    throw new JobError('forbidden', 'this token may not submit jobs: it lacks the jobs:write scope');
  const limits = uploadLimits(deps.config);
  if ((sub.declaredBytes ?? 0) > limits.requestBytes)
    throw new JobError('payload_too_large', `the request is larger than the limit of ${limits.requestBytes} bytes`);
  const id = randomUUID();
  const dir = jobDir(deps.config.dataDir, id);
  try {
    const mp = await receiveParts(withFields(sub.fields, sub.parts), join(dir, 'uploads'), limits);
    const input = kind === 'model' ? await modelJob(mp, dir) : await imageJob(deps, mp, dir);
    await checkModelName(deps, sub, input.metadata.model_name, id);
    return await deps.jobs.submit({ ...input, id, owner: sub.owner });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Refuses a model name another owner published under (the publisher re-checks when the job ends: races lose there). */
async function checkModelName(deps: SubmitDeps, sub: Submission, name: string | undefined, id: string): Promise<void> {
  if (!deps.modelNames || sub.admin || !name) return;
  const repo = deps.modelNames.repository(name, id);
  const holder = await deps.modelNames.holder(repo);
  if (holder !== undefined && holder !== sub.owner)
    throw new JobError(
      'conflict',
      `the model name "${name}" (${repo}) belongs to another owner: choose another model_name`,
      [{ field: 'model_name', message: 'taken by another owner' }],
    );
}

export const submitModelJob = (deps: SubmitDeps, sub: Submission): Promise<JobView> => submitJob(deps, 'model', sub);
export const submitImageJob = (deps: SubmitDeps, sub: Submission): Promise<JobView> => submitJob(deps, 'image', sub);

type Prepared = Omit<SubmitJobInput, 'id' | 'owner'>;

async function modelJob(mp: Multipart, dir: string): Promise<Prepared> {
  const p = await prepareModelJob(mp, join(dir, 'input'));
  const model = p.files.find((f) => f.role === 'model');
  // The Keras trainer reads only Keras 3 `.keras` files: a TF.js model would fail in the job; refuse it now.
  if (trainerFramework(p.framework) === 'keras' && model && !model.name.toLowerCase().endsWith('.keras'))
    throw new JobError(
      'unsupported_framework',
      `framework keras runs the Keras trainer, which takes a .keras model; "${model.name}" is a TF.js model (use framework tfjs)`,
      [{ field: 'framework', message: 'keras needs a .keras model' }],
    );
  return {
    framework: p.framework,
    files: p.files,
    params: p.params,
    metadata: p.metadata,
    ...gpuOf(mp),
  };
}

/**
 * The optional `gpu` field of both flows (schema/jobs.ts gpuField: true, a count, device ids). Whether a worker
 * can serve it is checked when the job is queued (gpus.ts), for REST and GraphQL alike.
 */
function gpuOf(mp: Multipart): { gpu?: GpuRequest } {
  const raw = mp.fields.gpu;
  if (raw === undefined) return {};
  const r = gpuField.safeParse(raw);
  if (!r.success)
    throw new JobError(
      'invalid_request',
      `gpu: expected true, false, a GPU count or device ids (e.g. 0,1), got ${JSON.stringify(raw.slice(0, 100))}`,
      [{ field: 'gpu', message: r.error.issues[0]?.message ?? 'invalid' }],
    );
  return gpusWanted(r.data) > 0 ? { gpu: r.data } : {};
}

async function imageJob(deps: SubmitDeps, mp: Multipart, dir: string): Promise<Prepared> {
  const p = await prepareImageJob(mp, join(dir, 'input'));
  const gpu = gpuOf(mp);
  if (deps.jobs.runnerKind !== 'docker')
    throw new JobError(
      'unsupported_runner',
      'this server has no container engine: image jobs need the docker runner (AIBOMGEN_RUNNER=docker)',
    );
  return {
    framework: p.framework,
    files: p.files,
    params: {},
    metadata: p.metadata,
    image: p.image,
    ...(p.command ? { command: p.command } : {}),
    ...gpu,
  };
}

async function* withFields(
  fields: Record<string, string> | undefined,
  parts: AsyncIterable<FormPart> | Iterable<FormPart>,
): AsyncGenerator<FormPart> {
  for (const [field, value] of Object.entries(fields ?? {})) yield { field, value };
  yield* parts;
}
