/**
 * Fair use at the HTTP edge, per identity (the caller's owner; the client address for anonymous callers):
 * - rate limits (hono-rate-limiter, one fixed one-minute window per identity) on job submissions (REST
 *   `POST /developer/submit_job_*`, GraphQL `submitTrainingJob`), verifications (`/verifier/*`, GraphQL
 *   `verify`), registry token issuance (`/token`) and dashboard sign-ins (`GET /auth/login`, which stores a
 *   pending login per request);
 * - a cap on the jobs one owner may have queued (AIBOMGEN_MAX_QUEUED_PER_OWNER), checked before the upload is
 *   read, so a refused submission stores nothing.
 * Over a limit: 429 with Retry-After, the ApiError body (`rate_limited`, `too_many_queued_jobs`) on REST and
 * the GraphQL error shape (extensions.code RATE_LIMITED, TOO_MANY_QUEUED_JOBS) on /graphql.
 *
 * The counters live in this process's memory (MemoryStore): each API node counts on its own, so N nodes admit
 * up to N times a limit. Limits shared across nodes (a Redis or database store) are another piece of work.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { MemoryStore, rateLimiter } from 'hono-rate-limiter';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import { type Caller, ownerName } from '../identity.ts';
import { callsOf, graphqlOperation } from './graphql-operation.ts';

const WINDOW_MS = 60_000;
const SUBMIT_PATHS = new Set(['/developer/submit_job_by_model_and_data', '/developer/submit_job_by_image']);

type Limits = Pick<
  Config,
  | 'rateSubmitsPerMinute'
  | 'rateVerificationsPerMinute'
  | 'rateTokensPerMinute'
  | 'rateLoginsPerMinute'
  | 'maxQueuedPerOwner'
  | 'maxGraphqlBytes'
>;

export interface FairUseDeps {
  config: Limits;
  /** Jobs `owner` has queued now (the durable queue). */
  queuedCount(owner: string): Promise<number>;
}

/** One limited kind of request: which requests count, and how many each counts for. */
interface Kind {
  name: string;
  perMinute: number;
  /** The config variable that sets it (named in the refusal). */
  variable: string;
  /** How many units this request uses: 0 = not this kind (GraphQL counts each root field asking for it). */
  units(c: Context<AppEnv>): Promise<number>;
}

/** The rate limits and the queued-jobs cap (one instance per platform: it holds the counters). */
export class FairUse {
  private readonly stores: MemoryStore<AppEnv>[] = [];
  /** Submissions this node is receiving per owner: counted against the cap until they are queued or refused. */
  private readonly inFlight = new Map<string, number>();

  constructor(private readonly d: FairUseDeps) {}

  /** The rate limits, then the queued-jobs cap: for createApp to mount, in this order, after `identify`. */
  middlewares(): MiddlewareHandler<AppEnv>[] {
    const { config } = this.d;
    const isGraphql = (c: Context<AppEnv>): boolean => c.req.path === '/graphql';
    const graphqlCalls = async (c: Context<AppEnv>, field: string): Promise<number> =>
      isGraphql(c) ? callsOf(await graphqlOperation(c, config.maxGraphqlBytes), field) : 0;
    const submissions: Kind = {
      name: 'job submissions',
      perMinute: config.rateSubmitsPerMinute,
      variable: 'AIBOMGEN_RATE_SUBMITS_PER_MINUTE',
      units: async (c) =>
        c.req.method === 'POST' && SUBMIT_PATHS.has(c.req.path) ? 1 : graphqlCalls(c, 'submitTrainingJob'),
    };
    const verifications: Kind = {
      name: 'verifications',
      perMinute: config.rateVerificationsPerMinute,
      variable: 'AIBOMGEN_RATE_VERIFICATIONS_PER_MINUTE',
      units: async (c) => (c.req.path.startsWith('/verifier/') ? 1 : graphqlCalls(c, 'verify')),
    };
    const tokens: Kind = {
      name: 'registry token requests',
      perMinute: config.rateTokensPerMinute,
      variable: 'AIBOMGEN_RATE_TOKENS_PER_MINUTE',
      units: async (c) => (c.req.path === '/token' || c.req.path.startsWith('/token/') ? 1 : 0),
    };
    const logins: Kind = {
      name: 'sign-ins',
      perMinute: config.rateLoginsPerMinute,
      variable: 'AIBOMGEN_RATE_LOGINS_PER_MINUTE',
      units: async (c) => (c.req.path === '/auth/login' ? 1 : 0),
    };
    return [
      this.limiter(submissions),
      this.limiter(verifications),
      this.limiter(tokens),
      this.limiter(logins),
      this.queueCap(submissions),
    ];
  }

  /** Stops the stores' timers and forgets every count. */
  close(): void {
    for (const s of this.stores.splice(0)) s.shutdown();
  }

  private limiter(kind: Kind): MiddlewareHandler<AppEnv> {
    const store = new MemoryStore<AppEnv>();
    this.stores.push(store);
    const units = new WeakMap<Context, number>();
    return rateLimiter<AppEnv>({
      windowMs: WINDOW_MS,
      limit: kind.perMinute,
      standardHeaders: 'draft-6', // RateLimit-* on every counted answer, and Retry-After on a 429
      store,
      skip: async (c) => {
        const n = await kind.units(c);
        units.set(c, n);
        return n === 0;
      },
      keyGenerator: async (c) => {
        const key = identityKey(c);
        // The limiter counts a request once; a GraphQL request asking n times (aliases) counts n.
        for (let i = 1; i < (units.get(c) ?? 1); i++) await store.increment(key);
        return key;
      },
      handler: (c) => {
        const reset = (c.get('rateLimit' as never) as { resetTime?: Date } | undefined)?.resetTime;
        const seconds = reset ? Math.max(1, Math.ceil((reset.getTime() - Date.now()) / 1000)) : WINDOW_MS / 1000;
        const detail = `${who(c)} made more than ${kind.perMinute} ${kind.name} in a minute (${kind.variable}); retry in ${seconds} s`;
        return refuse(c, 'rate_limited', detail, { limit: kind.variable });
      },
    });
  }

  /** The per-owner cap on queued jobs, before the submission's body is read. */
  private queueCap(submissions: Kind): MiddlewareHandler<AppEnv> {
    const cap = this.d.config.maxQueuedPerOwner;
    return async (c, next) => {
      const n = await submissions.units(c);
      if (n === 0) return next();
      const owner = ownerName(callerOf(c));
      const queued = await this.d.queuedCount(owner);
      // Read after the await: two submissions arriving together cannot both take the last place.
      const pending = this.inFlight.get(owner) ?? 0;
      if (queued + pending + n > cap) {
        c.header('Retry-After', '60');
        const detail = `${owner} has ${queued + pending} jobs queued or being submitted; at most ${cap} may wait at once (AIBOMGEN_MAX_QUEUED_PER_OWNER): wait for some to start, or cancel some`;
        return refuse(c, 'too_many_queued_jobs', detail, { limit: 'AIBOMGEN_MAX_QUEUED_PER_OWNER' });
      }
      this.inFlight.set(owner, pending + n);
      try {
        await next();
      } finally {
        const left = (this.inFlight.get(owner) ?? n) - n;
        if (left > 0) this.inFlight.set(owner, left);
        else this.inFlight.delete(owner);
      }
    };
  }
}

const callerOf = (c: Context<AppEnv>): Caller => c.get('caller') ?? { kind: 'anonymous' };

/** The key a caller is counted under: its owner, or (anonymous) the address it connects from. */
export function identityKey(c: Context<AppEnv>): string {
  const caller = callerOf(c);
  return caller.kind === 'user' ? `owner:${caller.owner}` : `address:${clientAddress(c)}`;
}

/** The TCP peer's address (no proxy header is trusted); `in-process` for requests made without a socket. */
export function clientAddress(c: Context<AppEnv>): string {
  return c.env?.incoming?.socket?.remoteAddress ?? 'in-process';
}

function who(c: Context<AppEnv>): string {
  const caller = callerOf(c);
  return caller.kind === 'user' ? caller.owner : `anonymous client ${clientAddress(c)}`;
}

/** A 429 in the shape of the surface asked: GraphQL's errors on /graphql, the ApiError body elsewhere. */
function refuse(c: Context<AppEnv>, code: string, detail: string, extensions: Record<string, unknown>): Response {
  if (c.req.path === '/graphql')
    return c.json({ errors: [{ message: detail, extensions: { code: code.toUpperCase(), ...extensions } }] }, 429);
  return c.json({ error: code, detail }, 429);
}
