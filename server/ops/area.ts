import { sql } from 'kysely';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../context.ts';
import type { Db } from '../db/connect.ts';
import type { RegistryStore } from '../registry/store/port.ts';
import type { PlatformMetrics } from './metrics.ts';

/** Runs one readiness probe; an error becomes its message so /readyz can name what is down. */
async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await check();
    return 'ok';
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** /metrics (Prometheus text format) and /readyz (owner: server/ops). /healthz is in app.ts. */
export function opsRoutes(s: { db: Db; store: RegistryStore; log: Logger; metrics: PlatformMetrics }): {
  mount(app: Hono<AppEnv>): void;
} {
  const { metrics } = s;
  return {
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
      app.get('/metrics', async (c) => {
        try {
          const body = await metrics.registry.metrics();
          return c.body(body, 200, { 'content-type': metrics.registry.contentType });
        } catch (e) {
          s.log.error({ err: e }, 'metrics: scrape failed');
          return c.json(
            {
              error: 'metrics_unavailable',
              detail: `metrics could not be collected: ${e instanceof Error ? e.message : String(e)}`,
            },
            503,
          );
        }
      });
    },
  };
}
