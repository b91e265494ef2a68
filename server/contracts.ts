/**
 * Contracts between areas that are built by different modules: jobs ↔ attest/publish, jobs → GraphQL/SSE,
 * attest → GraphQL/CLI. Each area implements its side and registers it on `Services` (see `app.ts`).
 * Keep these small and stable; area-internal types stay in the area.
 */

export type JobState = 'queued' | 'running' | 'attesting' | 'publishing' | 'succeeded' | 'failed' | 'cancelled';
export const terminalJobStates: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

/** Role of a job input file. */
export type InputRole = 'model' | 'dataset' | 'dataset_definition' | 'params' | 'other';

export interface JobInputFile {
  role: InputRole;
  /** File name as uploaded (sanitized) — also its name under the job's /input. */
  name: string;
  /** Absolute path on the server's disk. */
  path: string;
  digest: string; // sha256:<hex>
  size: number;
}

/** The seed's optional model metadata fields, carried into the AIBoM's model card. */
export interface ModelMetadata {
  model_name?: string;
  model_version?: string;
  model_description?: string;
  author?: string;
  model_type?: string;
  base_model?: string;
  base_model_source?: string;
  intended_use?: string;
  out_of_scope?: string;
  misuse_or_malicious?: string;
  license_name?: string;
}

export interface RunnerInfo {
  kind: 'docker' | 'process';
  /** False for the process runner: the AIBoM says so plainly. */
  isolated: boolean;
  image?: string;
  imageDigest?: string;
  runtime?: string; // e.g. "podman 4.3.1 (Docker API 1.41)"
  command: string[];
}

/** Everything the attest/publish step needs after the trainer exited 0. Paths are on the server's disk. */
export interface JobOutcome {
  jobId: string;
  owner: string;
  framework: string;
  params: Record<string, unknown>;
  metadata: ModelMetadata;
  inputs: JobInputFile[];
  /** Directory the trainer wrote (model/, metrics.json, logs.txt, ...). */
  outputDir: string;
  stdoutPath: string;
  stderrPath: string;
  exitCode: number;
  runner: RunnerInfo;
  queuedAt: string; // ISO 8601
  startedAt: string;
  finishedAt: string;
}

export interface AttestationRef {
  kind: 'aibom' | 'in-toto-link' | 'slsa-provenance' | 'cosign-signature' | 'aibom-signature' | 'other';
  mediaType: string;
  artifactType?: string;
  digest: string;
}

/** Where a job's model was published. */
export interface Publication {
  /** e.g. 127.0.0.1:8080/models/mnist:1.0.0 */
  ref: string;
  repository: string;
  tag: string;
  digest: string;
  inputs: { role: InputRole; repository: string; digest: string }[];
  attestations: AttestationRef[];
}

/** Implemented by the attest area. Throws on any failure; must leave no tag pointing at a half-attested model. */
export interface Publisher {
  publish(outcome: JobOutcome, onStep?: (step: 'attesting' | 'publishing') => void): Promise<Publication>;
  /** One-time set-up (e.g. compiling schemas), started when a job starts so it overlaps the trainer's run. */
  prepare?(): Promise<void>;
}

export interface VerificationCheck {
  name: string;
  passed: boolean;
  reason?: string;
}
export interface VerificationReport {
  ref: string;
  digest?: string;
  verified: boolean;
  checks: VerificationCheck[];
}

/** Implemented by the attest area: the full chain from the registry, with public keys only. */
export interface ModelVerifier {
  verify(ref: string): Promise<VerificationReport>;
}

/** Job state changes and trainer progress, in order per job. */
export type JobEvent =
  | { jobId: string; seq: number; type: 'state'; state: JobState; reason?: string; at: string }
  | { jobId: string; seq: number; type: 'epoch'; epoch: number; logs: Record<string, number>; at: string }
  | { jobId: string; seq: number; type: 'batch'; epoch: number; batch: number; logs: Record<string, number>; at: string }
  | { jobId: string; seq: number; type: 'log'; line: string; at: string };

export interface JobView {
  id: string;
  state: JobState;
  owner: string;
  framework: string;
  reason?: string;
  params: Record<string, unknown>;
  metadata: ModelMetadata;
  inputs: Omit<JobInputFile, 'path'>[];
  runner?: RunnerInfo;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  publication?: Publication;
  metrics?: Record<string, unknown>;
  /** PoC flow: the trainer image and command the job named. */
  image?: string;
  command?: string[];
}

export interface SubmitJobInput {
  /** Set when the caller already placed the files under the job's directory (the REST upload does). */
  id?: string;
  owner: string;
  framework: string;
  files: JobInputFile[];
  params: Record<string, unknown>;
  metadata: ModelMetadata;
  /** The PoC flow: a trainer image from our registry and its command. */
  image?: string;
  command?: string[];
  /** Ask for a GPU (DeviceRequests on the docker runner). */
  gpu?: boolean;
}

/** Implemented by the jobs area. */
export interface JobService {
  submit(input: SubmitJobInput): Promise<JobView>;
  get(id: string): Promise<JobView | null>;
  list(q: { owner?: string; state?: JobState; limit: number; after?: string }): Promise<{ items: JobView[]; next?: string }>;
  cancel(id: string): Promise<JobView | null>;
  /** Replays the job's past events, then delivers new ones; returns an unsubscribe function. */
  subscribe(id: string, onEvent: (e: JobEvent) => void): () => void;
}
