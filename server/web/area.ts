import type { Area, Services } from '../context.ts';

/** The web dashboard at / (owner: server/web). */
export async function setupWeb(s: Services): Promise<Area> {
  void s;
  return {
    name: 'web',
  };
}
