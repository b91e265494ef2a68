/**
 * The audit trail at the HTTP edge: one entry, exactly once, for every request that
 * - changes something: POST, PUT, PATCH or DELETE on REST and /v2/, any request to /token (it issues a
 *   credential), a GraphQL mutation (a POST to /graphql whose operation is a mutation), or
 * - is refused: any 401, 403 or 429 answer (GraphQL's UNAUTHENTICATED, FORBIDDEN, RATE_LIMITED and
 *   TOO_MANY_QUEUED_JOBS errors count, though GraphQL answers them with 200), and a "not found" that hides
 *   another owner's job (REST 404, GraphQL NOT_FOUND or a null `job`) — a real absence is not a refusal.
 * Mounted right after the request id, before the edge guard and `identify`, so refusals by either are recorded
 * too (the actor of a request refused before identification is `anonymous`). A small JSON answer is read (and
 * passed on unchanged) for the refusal's sentence; the entry is completed after that, off the request path, and
 * written in batches by the AuditLog: a request never waits for the database.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../context.ts';
import type { Db } from '../db/connect.ts';
import { type Caller, isAdmin, ownerName } from '../identity.ts';
import { type GraphqlOperation, graphqlOperation } from '../ops/graphql-operation.ts';
import { clientAddress } from '../ops/rate-limit.ts';
import { describeGraphql, describeHttp } from './describe.ts';
import type { AuditEntry, AuditLog, AuditResult } from './log.ts';

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const REFUSED_STATUS = new Set([401, 403, 429]);
const REFUSED_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'RATE_LIMITED', 'TOO_MANY_QUEUED_JOBS']);
/** Largest response body read for the entry's detail (errors are one sentence; anything bigger is not read). */
const MAX_BODY = 64 * 1024;

export interface AuditTrailDeps {
  audit: AuditLog;
  /** To tell a hidden job (another owner's) from a missing one. */
  db: Db;
  maxGraphqlBytes: number;
}

interface GqlError {
  message?: string;
  extensions?: { code?: string };
}

export function auditTrail(d: AuditTrailDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    const graphql = c.req.path === '/graphql' && (method === 'POST' || method === 'GET');
    // Started before the route: the request body is cloned before yoga reads it.
    const op = graphql ? graphqlOperation(c, d.maxGraphqlBytes) : undefined;
    await next();
    const status: number = c.env?.outgoing?.headersSent ? c.env.outgoing.statusCode : c.res.status;
    if (op) {
      d.audit.recordLater(graphqlEntry(c, d, op, await takeJson(c), status));
      return;
    }
    const described = describeHttp(method, c.req.path, new URL(c.req.url).searchParams);
    const changes = MUTATING.has(method) || described.action.endsWith(' /token');
    const mayHide = status === 404 && described.jobId !== undefined;
    if (changes || REFUSED_STATUS.has(status) || mayHide)
      d.audit.recordLater(httpEntry(c, d, described, await takeJson(c), status, changes));
  };
}

async function httpEntry(
  c: Context<AppEnv>,
  d: AuditTrailDeps,
  described: ReturnType<typeof describeHttp>,
  answer: unknown,
  status: number,
  changes: boolean,
): Promise<AuditEntry | undefined> {
  const body = answer as
    | { detail?: string; error?: string; job_id?: string; errors?: { message?: string }[] }
    | undefined;
  let result = resultOf(status);
  let detail = status >= 400 ? (body?.detail ?? body?.errors?.[0]?.message ?? body?.error) : undefined;
  if (status === 404 && described.jobId) {
    if (await hiddenJob(d.db, described.jobId, callerOf(c))) {
      result = 'refused';
      detail = `job ${described.jobId} belongs to another owner (answered: not found)`;
    } else if (!changes) return undefined; // really absent: not a refusal, and a read is not audited
  }
  const target = described.target ?? (typeof body?.job_id === 'string' ? body.job_id : undefined);
  return entry(c, { action: described.action, target, status, result, detail });
}

async function graphqlEntry(
  c: Context<AppEnv>,
  d: AuditTrailDeps,
  pending: Promise<GraphqlOperation | undefined>,
  answer: unknown,
  status: number,
): Promise<AuditEntry | undefined> {
  const op = await pending;
  const body = answer as { data?: Record<string, unknown> | null; errors?: GqlError[] } | undefined;
  const errors = body?.errors ?? [];
  const data = body?.data ?? undefined;
  let refused = REFUSED_STATUS.has(status) || errors.some((e) => REFUSED_CODES.has(e.extensions?.code ?? ''));
  let hidden: string | undefined;
  // `job(id)` answers null and `cancelJob` NOT_FOUND for another owner's job, as for a missing one.
  for (const call of op?.calls ?? []) {
    const id = call.args.id;
    const absent = call.field === 'job' ? data?.[call.key] === null : call.field === 'cancelJob' && !data?.[call.key];
    if (typeof id === 'string' && absent && (await hiddenJob(d.db, id, callerOf(c)))) hidden = id;
  }
  if (hidden) refused = true;
  if (op?.type !== 'mutation' && !refused) return undefined;
  const described = describeGraphql(op?.calls ?? [], data);
  const result: AuditResult = refused ? 'refused' : errors.length || status >= 400 ? 'error' : 'ok';
  const messages = errors.map((e) => e.message).filter(Boolean);
  if (hidden) messages.push(`job ${hidden} belongs to another owner (answered: not found)`);
  return entry(c, { ...described, status, result, detail: messages.join('; ') || undefined });
}

function entry(
  c: Context<AppEnv>,
  e: { action: string; target?: string | undefined; status: number; result: AuditResult; detail?: string | undefined },
): AuditEntry {
  const caller = callerOf(c);
  // An anonymous caller has no name: where it came from is what an administrator can act on.
  const from = caller.kind === 'anonymous' ? `from ${clientAddress(c)}` : undefined;
  const detail = [e.detail, from].filter(Boolean).join('; ');
  const requestId = c.get('requestId');
  return {
    actor: ownerName(caller),
    action: e.action,
    ...(e.target ? { target: e.target } : {}),
    status: e.status,
    result: e.result,
    ...(requestId ? { requestId } : {}),
    ...(detail ? { detail } : {}),
  };
}

function resultOf(status: number): AuditResult {
  if (REFUSED_STATUS.has(status)) return 'refused';
  return status >= 400 ? 'error' : 'ok';
}

const callerOf = (c: Context<AppEnv>): Caller => c.get('caller') ?? { kind: 'anonymous' };

/** Whether `id` is a job that exists but that `caller` may not see (its owner is someone else). */
async function hiddenJob(db: Db, id: string, caller: Caller): Promise<boolean> {
  if (caller.kind === 'platform' || isAdmin(caller)) return false;
  const row = await db.selectFrom('jobs').select('owner').where('id', '=', id).executeTakeFirst();
  return row !== undefined && row.owner !== ownerName(caller);
}

/**
 * The answer's JSON body when it is small (up to MAX_BODY): read here, before the answer leaves, and put back
 * as the answer's body (the bytes read, then the rest), so the client receives exactly what it would have.
 * (A clone would do, but yoga's Response type does not survive being cloned and then sent by the node adapter.)
 */
async function takeJson(c: Context<AppEnv>): Promise<unknown> {
  if (c.env?.outgoing?.headersSent) return undefined; // streamed straight to the socket (blobs)
  const res = c.res;
  const type = res.headers.get('content-type') ?? '';
  if (!type.includes('json') || !res.body || Number(res.headers.get('content-length') ?? 0) > MAX_BODY)
    return undefined;
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  while (total <= MAX_BODY) {
    const r = await reader.read();
    if (r.done) {
      done = true;
      break;
    }
    chunks.push(r.value);
    total += r.value.byteLength;
  }
  const head = Buffer.concat(chunks);
  const body = done
    ? head
    : new ReadableStream<Uint8Array>({
        start: (ctl) => ctl.enqueue(head),
        pull: async (ctl) => {
          const r = await reader.read();
          if (r.done) ctl.close();
          else ctl.enqueue(r.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
  c.res = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  if (!done) return undefined;
  try {
    return JSON.parse(head.toString('utf8'));
  } catch {
    return undefined;
  }
}
