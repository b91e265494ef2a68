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
