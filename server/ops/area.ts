import type { Area, Services } from '../context.ts';

/** /metrics and /readyz (owner: server/ops). */
export async function setupOps(s: Services): Promise<Area> {
  void s;
  return {
    name: 'ops',
  };
}
