import type { JobState } from '../../contracts.ts';
import { lineageGraph, downstreamVersions, nodesForDigest, type Direction } from '../../lineage/traverse.ts';
import { findVersion, listModels, type ModelFilter } from '../../lineage/queries.ts';
import type { GqlContext } from '../context.ts';
import { badInput, notFound } from '../errors.ts';
import { fromGqlState, jobParent } from './views.ts';

type Ctx = GqlContext;
const MAX_PAGE = 100;
const MAX_DEPTH = 100;
const DIGEST = /^sha(256:[a-f0-9]{64}|512:[a-f0-9]{128})$/;
const NODE_PREFIX = /^(model|dataset|job|image):/;

const cursor = {
  encode: (s: string): string => Buffer.from(s, 'utf8').toString('base64url'),
  decode: (c: string, what: string): string => {
    const s = Buffer.from(c, 'base64url').toString('utf8');
    if (!s || cursor.encode(s) !== c) throw badInput(`after: "${c}" is not a ${what} cursor from this API`);
    return s;
  },
};

function pageSize(first: number | null | undefined): number {
  const n = first ?? 20;
  if (!Number.isInteger(n) || n < 0 || n > MAX_PAGE)
    throw badInput(`first must be between 0 and ${MAX_PAGE}, got ${n}`);
  return n;
}

function checkDate(name: string, v: string | null | undefined): void {
  if (v && Number.isNaN(Date.parse(v))) throw badInput(`filter.${name}: "${v}" is not an ISO 8601 date`);
}

/** A lineage start: a node id, a model version ref, or a digest. */
async function startNode(ctx: Ctx, ref: string): Promise<string> {
  if (NODE_PREFIX.test(ref)) {
    const n = await ctx.s.db.selectFrom('lineage_nodes').select('id').where('id', '=', ref).executeTakeFirst();
    if (n) return n.id;
  }
  const v = await findVersion(ctx.s.db, ref);
  if (v) return v.id;
  if (DIGEST.test(ref)) {
    const { starts } = await nodesForDigest(ctx.s.db, ref);
    if (starts[0]) return starts[0];
  }
  throw notFound(`no model version, dataset, job or image "${ref}" in the lineage index`);
}

export const Query = {
  models: async (
    _: unknown,
    a: { filter?: ModelFilter | null; first?: number | null; after?: string | null },
    ctx: Ctx,
  ) => {
    const first = pageSize(a.first);
    const f = a.filter ?? {};
    checkDate('createdAfter', f.createdAfter);
    checkDate('createdBefore', f.createdBefore);
    const after = a.after ? cursor.decode(a.after, 'models') : undefined;
    const page = await listModels(ctx.s.db, f, first, after);
    return {
      edges: page.repos.map((name) => ({ cursor: cursor.encode(name), node: { name } })),
      pageInfo: {
        hasNextPage: page.hasNext,
        endCursor: page.repos.length ? cursor.encode(page.repos[page.repos.length - 1]!) : null,
      },
      totalCount: page.total,
    };
  },

  model: async (_: unknown, a: { name: string }, ctx: Ctx) =>
    (await ctx.loaders.versionsOfRepo.load(a.name)).length ? { name: a.name } : null,

  modelVersion: async (_: unknown, a: { ref?: string | null; digest?: string | null }, ctx: Ctx) => {
    if (!a.ref && !a.digest) throw badInput('modelVersion needs ref or digest');
    if (a.digest && !DIGEST.test(a.digest))
      throw badInput(`digest: "${a.digest}" is not sha256:<64 hex> or sha512:<128 hex>`);
    return (await findVersion(ctx.s.db, a.ref ?? a.digest!)) ?? null;
  },

  job: async (_: unknown, a: { id: string }, ctx: Ctx) => {
    const j = await ctx.loaders.job.load(a.id);
    return j ? jobParent(j) : null;
  },

  jobs: async (
    _: unknown,
    a: { state?: string | null; owner?: string | null; first?: number | null; after?: string | null },
    ctx: Ctx,
  ) => {
    const limit = pageSize(a.first);
    const r = await ctx.s.jobs.list(
      {
        limit,
        ...(a.owner ? { owner: a.owner } : {}),
        ...(a.state ? { state: fromGqlState(a.state) as JobState } : {}),
        ...(a.after ? { after: cursor.decode(a.after, 'jobs') } : {}),
      },
      ctx.caller,
    );
    return {
      edges: r.items.map((j) => ({ cursor: cursor.encode(j.id), node: jobParent(j) })),
      pageInfo: { hasNextPage: Boolean(r.next), endCursor: r.next ? cursor.encode(r.next) : null },
    };
  },

  lineage: async (_: unknown, a: { ref: string; direction?: Direction | null; depth?: number | null }, ctx: Ctx) => {
    const depth = a.depth ?? 10;
    if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH)
      throw badInput(`depth must be between 0 and ${MAX_DEPTH}, got ${depth}`);
    return lineageGraph(ctx.s.db, await startNode(ctx, a.ref), a.direction ?? 'BOTH', depth);
  },

  impact: async (_: unknown, a: { digest: string }, ctx: Ctx) => {
    if (!DIGEST.test(a.digest)) throw badInput(`digest: "${a.digest}" is not sha256:<64 hex> or sha512:<128 hex>`);
    const { starts, direct } = await nodesForDigest(ctx.s.db, a.digest);
    if (starts.length === 0) throw notFound(`nothing in the lineage index has digest ${a.digest}`);
    return downstreamVersions(ctx.s.db, starts, direct);
  },

  verify: async (_: unknown, a: { ref: string }, ctx: Ctx) => {
    if (!a.ref.trim()) throw badInput('ref is required, e.g. models/iris:1.0.0');
    // Through the request's loader: as the caller, and costed like every other verification it asks for.
    const report = await ctx.loaders.verification.load(a.ref);
    const v = report.digest ? await findVersion(ctx.s.db, a.ref) : undefined;
    if (v && v.digest === report.digest) await ctx.index?.recordVerification(v.repo, v.digest, report.verified);
    return report;
  },
};
