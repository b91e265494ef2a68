import type { RunnerInfo } from '../../contracts.ts';

/** One training run to execute: the trainer's input/output contract plus limits. */
export interface RunSpec {
  jobId: string;
  /** Host directory bound read-only at /input (the process runner passes it as --input). */
  inputDir: string;
  /** Host directory bound read-write at /output: the only writable path. */
  outputDir: string;
  stdoutPath: string;
  stderrPath: string;
  /** Most bytes kept of each log file (the job's output beyond it is read and dropped). */
  logBytes: number;
  timeoutMs: number;
  memoryBytes: number;
  cpus: number;
  pids: number;
  gpu: boolean;
  /** PoC flow: a trainer image and its command. Absent: the platform's own trainer. */
  image?: string;
  command?: string[];
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
}

/** Executes training runs in isolation (docker) or as a sandboxed child process (process). */
export interface Runner {
  readonly kind: RunnerInfo['kind'];
  run(spec: RunSpec): Promise<RunResult>;
  /** Removes whatever a crashed server left behind for these jobs (containers, processes). */
  cleanup(jobs: { jobId: string; jobDir: string }[]): Promise<void>;
  close(): Promise<void>;
}
