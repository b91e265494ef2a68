import type { Area, Services } from '../context.ts';

/** Lineage index: listens to manifest and job events (owner: server/lineage). */
export async function setupLineage(s: Services): Promise<Area> {
  void s;
  return {
    name: 'lineage',
  };
}
