import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ApiError } from '../schema/api.ts';

/**
 * A REST error with its HTTP status, machine code and one readable sentence (the ApiError body of
 * schema/api.ts). Thrown anywhere below a route; `apiErrorResponse` turns it into the JSON answer.
 */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
    readonly fields?: ApiError['fields'],
  ) {
    super(detail);
  }
}

export function apiErrorResponse(c: Context, e: HttpError): Response {
  const body: ApiError = { error: e.code, detail: e.detail, ...(e.fields?.length ? { fields: e.fields } : {}) };
  return c.json(body, e.status);
}
