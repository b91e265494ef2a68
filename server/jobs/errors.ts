/**
 * What the jobs area refuses, as domain errors: a code from a closed set, one readable sentence and, for
 * invalid input, the failing fields. Nothing here knows HTTP; the REST edge (routes.ts) maps each code to a
 * status and the ApiError body, the GraphQL edge to its error codes.
 */

export type JobErrorCode =
  /** A field or file is missing, malformed or out of range; the failing fields are named. */
  | 'invalid_request'
  /** An upload, a field or the whole request is over a limit. */
  | 'payload_too_large'
  /** The framework named is not one the trainer runs. */
  | 'unsupported_framework'
  /** The dataset does not match its dataset definition. */
  | 'definition_mismatch'
  /** An image job on a node without a container engine. */
  | 'unsupported_runner'
  /** No such job (or no such artifact of a job). */
  | 'not_found'
  /** The caller's token may not do this (a scope it lacks). */
  | 'forbidden'
  /** The job is past the point where the request can be honoured (cancel while its model is published). */
  | 'conflict'
  /** The registry could not take the job's inputs (AIBOMGEN_JOB_INPUTS=registry). */
  | 'registry_unavailable';

export interface FieldProblem {
  field: string;
  message: string;
}

export class JobError extends Error {
  override readonly name = 'JobError';
  constructor(
    readonly code: JobErrorCode,
    message: string,
    readonly fields?: FieldProblem[],
  ) {
    super(message);
  }
}

export const isJobError = (e: unknown): e is JobError => e instanceof JobError;
