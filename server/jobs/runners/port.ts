import type { ImageInventory, InputAccess, RunnerInfo } from '../../contracts.ts';
import type { GpuRequest } from './container-spec.ts';
import type { TrainerAuto } from './trainer-choice.ts';
import type { TrainerFramework } from './trainer-images.ts';

/** One training run to execute: the trainer's input/output contract plus limits. */
export interface RunSpec {
  jobId: string;
  /** The job's inputs on this node: copied into the container's /input (the process runner passes it as --input). */
  inputDir: string;
  /** Where the job's /output ends up on this node (the docker runner copies it out after the run). */
  outputDir: string;
  stdoutPath: string;
  stderrPath: string;
  /** Most bytes kept of each log file (the job's output beyond it is read and dropped). */
  logBytes: number;
  timeoutMs: number;
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** No GPU, all GPUs (true), a count, or device ids. */
  gpu: GpuRequest;
  /** Most bytes of /output: the docker runner stops a job past it (`outputOver`) and copies no more. */
  outputBytes?: number;
  /** Which platform trainer image runs the job (default tfjs); ignored when `image` is set. */
  framework?: TrainerFramework;
  /** PoC flow: a trainer image and its command. Absent: the platform's own trainer. */
  image?: string;
  command?: string[];
  /** `off`: no automatic trainer choice for this run (the Keras trainer refused the model on a first run). */
  trainerAuto?: TrainerAuto;
  /** A line of the runner's own for the job's log (e.g. which trainer it chose, and why). */
  onNote?(line: string): void;
  /** Each complete stdout line, as it arrives (the trainer's JSON progress lines). */
  onStdoutLine(line: string): void;
  /** Aborted on cancel: the runner kills the work and resolves with `cancelled`. */
  signal: AbortSignal;
}

export interface RunResult {
  exitCode: number;
  timedOut: boolean;
  cancelled: boolean;
  runner: RunnerInfo;
  /** Bytes measured in /output when it went over `outputBytes` (the job was stopped, the output dropped). */
  outputOver?: number;
  /** Entries of /output that were not copied out (links, devices, ...), as `path (kind)`. */
  special?: string[];
  /** The image's packages, read from the container's filesystem after the run. */
  inventory?: ImageInventory;
  /** Which inputs the job read, measured after the run (server/attest/data-access.ts). */
  inputAccess?: InputAccess;
}

/** Executes training runs in isolation (docker) or as a sandboxed child process (process). */
export interface Runner {
  readonly kind: RunnerInfo['kind'];
  run(spec: RunSpec): Promise<RunResult>;
  /** Removes whatever a crashed server left behind for these jobs (containers, processes). */
  cleanup(jobs: { jobId: string; jobDir: string }[]): Promise<void>;
  close(): Promise<void>;
}
