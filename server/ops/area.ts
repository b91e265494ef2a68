import { sql } from 'kysely';
import type { Area, Services } from '../context.ts';

/** Runs one readiness probe; an error becomes its message so /readyz can name what is down. */
async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await check();
    return 'ok';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** /metrics and /readyz (owner: server/ops). /metrics is not built yet. */
export async function setupOps(s: Services): Promise<Area> {
  return {
    name: 'ops',
    mount(app) {
      // Ready = the database answers a query and the registry store can list repositories.
      app.get('/readyz', async (c) => {
        const checks = {
          db: await probe(() => sql`select 1`.execute(s.db)),
          store: await probe(() => s.store.listRepositories()),
        };
        const ready = Object.values(checks).every((v) => v === 'ok');
        return c.json({ ready, checks }, ready ? 200 : 503);
      });
    },
  };
}
