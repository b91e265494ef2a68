import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

/** The OCI Distribution API at /v2/. */
export function registryRoutes(): Hono<AppEnv> {
  const r = new Hono<AppEnv>({ strict: false });
  r.get('/', (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    return c.json({});
  });
  return r;
}
