import { terminalJobStates, type JobEvent } from '../../contracts.ts';
import type { GqlContext } from '../context.ts';
import { notFound } from '../errors.ts';
import { jobEventView, type JobEventView } from './views.ts';

/** Job events as an async iterator: the replay, then live events, ending after the terminal state. */
async function* jobEvents(ctx: GqlContext, id: string): AsyncGenerator<{ jobProgress: JobEventView }> {
  const jobs = ctx.s.jobs;
  if (!(await jobs.get(id, ctx.caller))) throw notFound(`job ${id} does not exist`);
  const buffered: JobEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = jobs.subscribe(id, (e) => {
    buffered.push(e);
    wake?.();
  });
  try {
    for (;;) {
      while (buffered.length === 0)
        await new Promise<void>((r) => {
          wake = r;
        });
      wake = undefined;
      const e = buffered.shift()!;
      yield { jobProgress: jobEventView(e) };
      if (e.type === 'state' && terminalJobStates.includes(e.state)) return;
    }
  } finally {
    unsubscribe();
  }
}

export const Subscription = {
  jobProgress: { subscribe: (_: unknown, a: { id: string }, ctx: GqlContext) => jobEvents(ctx, a.id) },
};
