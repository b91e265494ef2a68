import type { Area, Services } from '../context.ts';

/** Job queue, runners and the developer REST API; registers `jobs` (owner: server/jobs). */
export async function setupJobs(s: Services): Promise<Area> {
  void s;
  return {
    name: 'jobs',
  };
}
