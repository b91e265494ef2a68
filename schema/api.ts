import { z } from 'zod';
import { JobState, JobView, ModelMetadata } from './jobs.ts';
import { InTotoVerification } from './verification.ts';

/** Frameworks a job may name; the seed sends "TensorFlow 2.16.1", so any "tensorflow…" spelling is accepted. */
export const supportedFrameworks = ['tensorflow', 'tfjs', 'keras'] as const;

/** Maps a submitted framework string to a supported one, or null (→ 422 at the API). */
export function normalizeFramework(raw: string): (typeof supportedFrameworks)[number] | null {
  const name =
    raw
      .trim()
      .toLowerCase()
      .split(/[\s@:]+/)[0] ?? '';
  return (supportedFrameworks as readonly string[]).includes(name)
    ? (name as (typeof supportedFrameworks)[number])
    : null;
}

/** The seed's optional model metadata form fields (the stored ModelMetadata is exactly what they allow). */
export const modelMetadataFields = ModelMetadata;

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
  .refine((p) => p.epochs < 1 || p.initial_epoch < p.epochs, {
    message: 'initial_epoch must be less than epochs',
    path: ['initial_epoch'],
  });

export type TrainingParams = z.infer<typeof trainingParams>;

/** Turns a zod error into "field: message" lines for a 400 body that names every failing field. */
export function failingFields(err: z.ZodError): { field: string; message: string }[] {
  return err.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message }));
}

// ---- REST contract of /developer/* and /verifier/* (the server implements it; the CLI and dashboard read it) ----

/** `GET /developer/jobs?owner=&state=&limit=&after=` (limit 1..200, default 50; `after` is the `next` cursor). */
export const JobListQuery = z.object({
  owner: z.string().min(1).max(255).optional(),
  state: JobState.optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  after: z.string().max(512).optional().meta({ description: 'the `next` cursor of the previous page' }),
});

/**
 * A job as the REST API answers it: the JobView (schema/jobs.ts) plus the seed's `job_id` and
 * `status` (= state). Returned by both submit endpoints (202), `GET /developer/job_status/{id}`,
 * `POST /developer/jobs/{id}/cancel`, and as items of `GET /developer/jobs`.
 */
export const JobResponse = JobView.extend({ job_id: z.string(), status: JobState });
export type JobResponse = z.infer<typeof JobResponse>;

export const JobListResponse = z.object({ items: z.array(JobResponse), next: z.string().optional() });
export type JobListResponse = z.infer<typeof JobListResponse>;

/** `GET /developer/job_artifacts/{id}`; each file streams from `GET /developer/job_artifacts/{id}/{name}` (name may hold '/'). */
export const ArtifactListResponse = z.object({
  job_id: z.string(),
  artifacts: z.array(z.object({ name: z.string(), size: z.number().int(), digest: z.string() })),
});
export type ArtifactListResponse = z.infer<typeof ArtifactListResponse>;

/**
 * Every 4xx/5xx body of the platform's REST API: a machine code, one readable sentence, and for 400 the
 * failing fields. (The /v2/ registry uses the distribution-spec error form instead.)
 */
export const ApiError = z.object({
  error: z.string(),
  detail: z.string(),
  fields: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});
export type ApiError = z.infer<typeof ApiError>;

/** `POST /verifier/verify_bom_and_link`: the link's verification plus the AIBoM's signature and its reference to the link. */
export const BomAndLinkVerification = InTotoVerification.extend({
  bom_signature: z.boolean(),
  bom_signature_reason: z.string().optional(),
  bom_references_link: z.boolean(),
});
export type BomAndLinkVerification = z.infer<typeof BomAndLinkVerification>;

/** `POST /verifier/verify_file_hash` (multipart `file` + `expected_hash`). */
export const FileHashVerification = z.object({
  verified: z.boolean(),
  expected_hash: z.string(),
  actual_hash: z.string(),
  file_name: z.string(),
});
export type FileHashVerification = z.infer<typeof FileHashVerification>;

/*
 * `GET /developer/jobs/{id}/events` is Server-Sent Events: one SSE message per JobEvent, `event:` = its type
 * (state | epoch | batch | log), `id:` = its seq, `data:` = the JobEvent as JSON. Past events are replayed
 * first (or those after `Last-Event-ID`), then live ones; the stream ends after the terminal state event.
 * `GET /developer/jobs/{id}/logs` answers the trainer's stdout+stderr as text/plain.
 */
