import { GraphQLError } from 'graphql';
import { RegistryError } from '../registry/errors.ts';

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

/**
 * yoga's error mask: a domain error from a service (a registry refusal: the caller may not read that model)
 * becomes the GraphQL error of the same meaning; anything else stays masked as an unexpected error.
 */
export function maskError(error: unknown, message: string): Error {
  if (!(error instanceof GraphQLError))
    return new GraphQLError(message, { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  const original = error.originalError;
  const at = { nodes: error.nodes, path: error.path };
  if (original instanceof RegistryError) {
    const code =
      original.status === 401 || original.status === 403
        ? 'FORBIDDEN'
        : original.status === 404
          ? 'NOT_FOUND'
          : 'BAD_USER_INPUT';
    return new GraphQLError(original.message, { ...at, extensions: { code, registryCode: original.code } });
  }
  if (!original || original instanceof GraphQLError) return error;
  return new GraphQLError(message, { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}
