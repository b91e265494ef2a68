import type { Area, Services } from '../context.ts';

/** Keys, evidence, publication and verification; registers `publisher` and `verifier`, mounts /verifier (owner: server/attest). */
export async function setupAttest(s: Services): Promise<Area> {
  void s;
  return {
    name: 'attest',
  };
}
