// Generated from schema/job-states.ts by `node --import tsx schema/web-contracts.ts`: do not edit.

/** @typedef {'queued' | 'running' | 'attesting' | 'publishing' | 'succeeded' | 'failed' | 'cancelled'} JobState */

/**
 * Every job state, in the order a job moves through them (REST spells them in lower case, GraphQL in upper).
 * @type {readonly JobState[]}
 */
export const jobStates = Object.freeze(['queued', 'running', 'attesting', 'publishing', 'succeeded', 'failed', 'cancelled']);

/** @type {readonly JobState[]} */
export const terminalJobStates = Object.freeze(['succeeded', 'failed', 'cancelled']);
