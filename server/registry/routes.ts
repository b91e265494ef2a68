import { Hono } from 'hono';
import type { AppEnv, Services } from '../context.ts';

/** The OCI Distribution API at /v2/. */
export function registryRoutes(s: Services): Hono<AppEnv> {
  void s;
  const r = new Hono<AppEnv>({ strict: false });
  r.get('/', (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    return c.json({});
  });
  return r;
}
