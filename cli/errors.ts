/** Exit codes scripts can rely on (documented in `aibomgen --help`). */
export const ExitCode = {
  ok: 0,
  /** Anything else went wrong: the server answered an error, a job failed, the network is down. */
  failure: 1,
  /** Bad flags or arguments, or input the server rejected as invalid (400). */
  usage: 2,
  /** The job, model or reference does not exist. */
  notFound: 3,
  /** A model did not verify (or a pulled blob's digest did not match). */
  verificationFailed: 4,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one sentence on stderr and turns into its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue = ExitCode.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}
