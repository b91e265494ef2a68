import { z } from 'zod';

/** Frameworks a job may name; the seed sends "TensorFlow 2.16.1", so any "tensorflow…" spelling is accepted. */
export const supportedFrameworks = ['tensorflow', 'tfjs', 'keras'] as const;

/** Maps a submitted framework string to a supported one, or null (→ 422 at the API). */
export function normalizeFramework(raw: string): (typeof supportedFrameworks)[number] | null {
  const name = raw.trim().toLowerCase().split(/[\s@:]+/)[0] ?? '';
  return (supportedFrameworks as readonly string[]).includes(name) ? (name as (typeof supportedFrameworks)[number]) : null;
}

const optText = z.string().trim().min(1).max(4096).optional();

/** The seed's optional model metadata form fields. */
export const modelMetadataFields = z.object({
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

/** The seed's training parameters (form fields are strings, hence coercion), with the seed's defaults. */
export const trainingParams = z
  .object({
    epochs: z.coerce.number().int().min(1).max(10_000).default(50),
    validation_split: z.coerce.number().min(0).lt(1).default(0.2),
    initial_epoch: z.coerce.number().int().min(0).default(0),
    batch_size: z.coerce.number().int().min(1).max(1_000_000).default(32),
    steps_per_epoch: z.coerce.number().int().min(1).optional(),
    validation_steps: z.coerce.number().int().min(1).optional(),
    validation_freq: z.coerce.number().int().min(1).default(1),
    seed: z.coerce.number().int().min(0).optional(),
  })
  // Only judged when epochs itself is valid, so a bad epochs is reported once, under its own name.
  .refine((p) => p.epochs < 1 || p.initial_epoch < p.epochs, { message: 'initial_epoch must be less than epochs', path: ['initial_epoch'] });

export type TrainingParams = z.infer<typeof trainingParams>;

/** Turns a zod error into "field: message" lines for a 400 body that names every failing field. */
export function failingFields(err: z.ZodError): { field: string; message: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

// ---- REST response contract of /developer/* (server/jobs implements it; the CLI and dashboard read it) ----

/**
 * A job as the REST API answers it: the JobView of server/contracts.ts plus the seed's `job_id` and
 * `status` (= state). Returned by both submit endpoints (202), `GET /developer/job_status/{id}`,
 * `POST /developer/jobs/{id}/cancel`, and as items of `GET /developer/jobs`.
 */
export type JobResponse = import('../server/contracts.ts').JobView & { job_id: string; status: import('../server/contracts.ts').JobState };

/** `GET /developer/jobs?owner=&state=&limit=&after=` (limit 1..200, default 50; `after` is the `next` cursor). */
export interface JobListResponse {
  items: JobResponse[];
  next?: string;
}

/** `GET /developer/job_artifacts/{id}`; each file streams from `GET /developer/job_artifacts/{id}/{name}` (name may hold '/'). */
export interface ArtifactListResponse {
  job_id: string;
  artifacts: { name: string; size: number; digest: string }[];
}

/**
 * Every 4xx/5xx body of the platform's REST API: a machine code, one readable sentence, and for 400 the
 * failing fields. (The /v2/ registry uses the distribution-spec error form instead.)
 */
export interface ApiError {
  error: string;
  detail: string;
  fields?: { field: string; message: string }[];
}

/*
 * `GET /developer/jobs/{id}/events` is Server-Sent Events: one SSE message per JobEvent, `event:` = its type
 * (state | epoch | batch | log), `id:` = its seq, `data:` = the JobEvent as JSON. Past events are replayed
 * first (or those after `Last-Event-ID`), then live ones; the stream ends after the terminal state event.
 * `GET /developer/jobs/{id}/logs` answers the trainer's stdout+stderr as text/plain.
 */
