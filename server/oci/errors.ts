/**
 * A failed registry call: the HTTP status and, when the registry answered in the distribution-spec's JSON
 * error form, its first error code (BLOB_UNKNOWN, DIGEST_INVALID, ...). `DIGEST_MISMATCH` is the client's
 * own code for content that does not match the digest it was fetched by.
 */
export class OciError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'OciError';
  }
}

/** Builds an OciError from a failed response, reading the spec's error body when there is one. */
export async function errorFrom(res: Response, what: string): Promise<OciError> {
  const text = await res.text().catch(() => '');
  let code: string | undefined;
  let message: string | undefined;
  try {
    const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    code = first?.code;
    message = first?.message;
  } catch {
    // not JSON
  }
  const detail = message ?? text.slice(0, 300);
  return new OciError(
    `${what} failed: ${res.status}${code ? ` ${code}` : ''}${detail ? ` ${detail}` : ''}`,
    res.status,
    code,
  );
}
