/**
 * The one error type the trainer reports: a code from the shared contract, a message naming the problem,
 * the field when there is one, and the process exit code (1: bad input, 2: internal / out of memory).
 */
import type { ErrorRecord, TrainerErrorCode } from '../schema/trainer.ts';

export class TrainerError extends Error {
  constructor(
    readonly code: TrainerErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'TrainerError';
  }

  get exitCode(): 1 | 2 {
    return this.code === 'internal' || this.code === 'out_of_memory' ? 2 : 1;
  }

  toRecord(): ErrorRecord {
    const rec: ErrorRecord = { type: 'error', code: this.code, message: this.message };
    if (this.field !== undefined) rec.field = this.field;
    return rec;
  }
}

/** Maps anything thrown to a TrainerError (allocation failures → out_of_memory, the rest → internal). */
export function toTrainerError(err: unknown): TrainerError {
  if (err instanceof TrainerError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /allocat|memory|Array buffer/i.test(msg)) {
    return new TrainerError('out_of_memory', `out of memory: ${msg}`);
  }
  if (/out of memory|OOM|Cannot allocate|failed to allocate/i.test(msg)) {
    return new TrainerError('out_of_memory', `out of memory: ${msg}`);
  }
  return new TrainerError('internal', msg);
}
