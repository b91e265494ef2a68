/** The audit log: every mutating call and every refusal, one row each. Owned by server/audit. */
export interface AuditTables {
  audit_log: AuditLogTable;
}

export interface AuditLogTable {
  /** Time-ordered (a UUIDv7): sorting by id sorts by time; the cursor of `auditLog(after:)`. */
  id: string;
  /** ISO 8601, when the answer was given. */
  at: string;
  /** The owner who asked, or `anonymous` / `platform`. */
  actor: string;
  /** What was asked, e.g. `POST /developer/submit_job_by_model_and_data`, `PUT /v2/<repo>/manifests/<ref>`, `graphql setAlias`. */
  action: string;
  /** What it was asked on: a job id, `<repo>:<tag>`, `<repo>@<digest>`, a model name; null when nothing in particular. */
  target: string | null;
  /** The HTTP status answered. */
  status: number;
  /** `ok`, `refused` (401, 403, 429, a 404 that hides another owner's resource) or `error`. */
  result: string;
  /** The request's X-Request-Id (hono/request-id). */
  request_id: string | null;
  /** Why: the refusal's or error's sentence, the client address of an anonymous caller. */
  detail: string | null;
}
