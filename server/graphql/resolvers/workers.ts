import { isAdmin } from '../../identity.ts';
import type { GqlContext } from '../context.ts';
import { forbidden } from '../errors.ts';

/** `workers` and `queue`: the operators' view of the nodes that run jobs (server/jobs/queue/), administrators only. */
export const WorkersQuery = {
  workers: async (_: unknown, _a: unknown, ctx: GqlContext) => {
    // Auth off is a development install where everyone may do everything; with auth on, administrators only.
    if (ctx.s.auth.enabled && !isAdmin(ctx.caller))
      throw forbidden('workers: the operators view is for administrators only (AIBOMGEN_ADMINS)');
    return (await ctx.s.queue.workers()).map((w) => ({
      ...w,
      state: w.state.toUpperCase(),
      keyState: w.keyState?.toUpperCase() ?? null,
    }));
  },
  queue: async (_: unknown, _a: unknown, ctx: GqlContext) => {
    if (ctx.s.auth.enabled && !isAdmin(ctx.caller))
      throw forbidden('queue: the operators view is for administrators only (AIBOMGEN_ADMINS)');
    return ctx.s.queue.stats();
  },
};
