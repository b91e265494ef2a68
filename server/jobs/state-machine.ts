import type { JobState } from '../contracts.ts';

/** Allowed moves: queued → running → attesting → publishing → succeeded; failed/cancelled from any live state. */
const next: Record<JobState, readonly JobState[]> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['attesting', 'failed', 'cancelled'],
  attesting: ['publishing', 'failed', 'cancelled'],
  publishing: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
  cancelled: [],
};

export function canMove(from: JobState, to: JobState): boolean {
  return next[from].includes(to);
}

/** Throws on an illegal move, so a bug can never mark e.g. a failed job succeeded. */
export function assertMove(from: JobState, to: JobState): void {
  if (!canMove(from, to)) throw new Error(`job cannot go from ${from} to ${to}`);
}

/** States a restart finds a job in that mean the work was cut off (→ failed: interrupted). */
export const interruptedStates: readonly JobState[] = ['running', 'attesting', 'publishing'];
