/**
 * The job states, with no dependency: the CLI loads this on every start (zod stays lazy there), and
 * server/web/static/js/contracts.js is generated from it for the dashboard (schema/web-contracts.ts).
 * schema/jobs.ts builds the zod enum `JobState` from the same list.
 */

/** Every job state, in the order a job moves through them (a job may end at any of the last three). */
export const jobStates = ['queued', 'running', 'attesting', 'publishing', 'succeeded', 'failed', 'cancelled'] as const;
export type JobState = (typeof jobStates)[number];
export const terminalJobStates: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];
