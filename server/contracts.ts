/**
 * Behavioural contracts between areas that are built by different modules: jobs ↔ attest/publish, jobs →
 * GraphQL/SSE, attest → GraphQL/CLI. Each area implements its side; the composition root (server/compose.ts) hands them over.
 * Keep these small and stable; area-internal types stay in the area. The data shapes they exchange are zod
 * schemas in schema/ (one home for every contract) and are re-exported here for the areas' imports.
 */
import type { Caller } from './identity.ts';
import type {
  GpuRequest,
  JobEvent,
  JobInputFile,
  JobState,
  JobView,
  ModelMetadata,
  Publication,
  RunnerInfo,
} from '../schema/jobs.ts';
import type { VerificationReport } from '../schema/verification.ts';

export type {
  AttestationRef,
  InputRole,
  JobEvent,
  JobInputFile,
  JobState,
  JobView,
  ModelMetadata,
  Publication,
  RunnerInfo,
} from '../schema/jobs.ts';
export type { VerificationCheck, VerificationReport } from '../schema/verification.ts';
export { terminalJobStates } from '../schema/jobs.ts';

/** Everything the attest/publish step needs after the trainer exited 0. Paths are on the server's disk. */
export interface JobOutcome {
  jobId: string;
  owner: string;
  /** The worker whose run this is (AIBOMGEN_WORKER_ID or the host name): named in the AIBoM and the provenance. */
  worker?: string;
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
  /** What the job's image holds, read from its package databases after the run (docker runner only). */
  imageInventory?: ImageInventory;
  /** The data-access record: which inputs the job read (docker runner only; server/attest/data-access.ts). */
  inputAccess?: InputAccess;
  queuedAt: string; // ISO 8601
  startedAt: string;
  finishedAt: string;
}

/** Input files (relative to /input) the job read during its run, and those it did not. */
export interface InputAccess {
  read: string[];
  unread: string[];
}

/** A package found in a job's image by reading its package database (no code of the image is run). */
export interface ImagePackage {
  ecosystem: 'deb' | 'pypi' | 'npm';
  name: string;
  version: string;
  /** Package URL, e.g. pkg:pypi/tomli-w@1.0.0 */
  purl: string;
  license?: string;
  /** The file inside the image it was read from. */
  source: string;
}

/** The job image's own environment, measured by the runner from the container's filesystem. */
export interface ImageInventory {
  /** From /etc/os-release (absent in a FROM-scratch image). */
  os?: { id: string; versionId?: string; prettyName?: string };
  packages: ImagePackage[];
  /** Package databases read (paths inside the image). */
  read: string[];
  /** True when a size budget stopped the reading before every database was read. */
  truncated: boolean;
}

/** Implemented by the attest area. Throws on any failure; must leave no tag pointing at a half-attested model. */
export interface Publisher {
  publish(outcome: JobOutcome, onStep?: (step: 'attesting' | 'publishing') => void): Promise<Publication>;
  /** One-time set-up (e.g. compiling schemas), started when a job starts so it overlaps the trainer's run. */
  prepare?(): Promise<void>;
}

/** Implemented by the attest area: the full chain from the registry, with public keys only. */
export interface ModelVerifier {
  /**
   * The full chain, read from the registry as `caller` (default: the platform, for its own checks): a caller
   * who may not pull the model gets a refusal (RegistryError), never its names or digests.
   */
  verify(ref: string, caller?: Caller): Promise<VerificationReport>;
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
  /** Ask for GPUs (DeviceRequests on the docker runner): true = all, a count, or device ids. */
  gpu?: GpuRequest;
}

/** Implemented by the jobs area. */
export interface JobService {
  submit(input: SubmitJobInput): Promise<JobView>;
  /** The job, or null when it does not exist or `caller` may not see it (its owner, admins, the platform). */
  get(id: string, caller: Caller): Promise<JobView | null>;
  /** The jobs `caller` may see. */
  list(
    q: { owner?: string; state?: JobState; limit: number; after?: string },
    caller: Caller,
  ): Promise<{ items: JobView[]; next?: string }>;
  /** Null when the job does not exist or `caller` may not cancel it. */
  cancel(id: string, caller: Caller): Promise<JobView | null>;
  /** Replays the job's past events, then delivers new ones; returns an unsubscribe function (after `get`). */
  subscribe(id: string, onEvent: (e: JobEvent) => void): () => void;
}
