import type { Generated } from 'kysely';

/** Tables of training jobs (state machine, inputs, events). Owned by server/jobs. */
export interface JobTables {
  jobs: JobsTable;
  job_inputs: JobInputsTable;
  job_events: JobEventsTable;
}

export interface JobsTable {
  id: string;
  owner: string;
  /** 'model' (model + dataset upload) or 'image' (image ref + command). */
  kind: string;
  /** One of JobState (server/contracts.ts). */
  state: string;
  reason: string | null;
  /** JSON: framework, metadata, training params, image ref/command. */
  spec_json: string;
  /** JSON Publication once succeeded. */
  publication_json: string | null;
  /** JSON RunnerInfo once the runner started. */
  runner_json: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The worker that claimed the job (AIBOMGEN_WORKER_ID): a restart recovers only its own jobs. */
  worker: string | null;
  /** Set by any process to cancel a job another process runs; the running worker polls it. */
  cancel_requested: Generated<number>;
  /** JSON object: the trainer's metrics.json as read (size-capped) when the trainer exited. */
  metrics_json: string | null;
}

export interface JobInputsTable {
  job_id: string;
  name: string;
  role: string;
  digest: string;
  size: number;
  path: string;
}

export interface JobEventsTable {
  job_id: string;
  seq: number;
  type: string;
  /** JSON of the JobEvent (without jobId/seq). */
  body_json: string;
  at: string;
}
