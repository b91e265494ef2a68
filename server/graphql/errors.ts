import { GraphQLError } from 'graphql';

/** GraphQL errors with the `extensions.code` clients branch on. */
export type ErrorCode = 'NOT_FOUND' | 'BAD_USER_INPUT' | 'FORBIDDEN' | 'UNAVAILABLE';

export function gqlError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

export const notFound = (m: string): GraphQLError => gqlError('NOT_FOUND', m);
export const badInput = (m: string, extra?: Record<string, unknown>): GraphQLError =>
  gqlError('BAD_USER_INPUT', m, extra);
export const forbidden = (m: string): GraphQLError => gqlError('FORBIDDEN', m);
/** A service this server runs without (no jobs area, no verifier): say which. */
export const unavailable = (what: string): GraphQLError =>
  gqlError('UNAVAILABLE', `${what} is not available on this server`);
