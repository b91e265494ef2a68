import type { Area, Services } from '../context.ts';
import { registryRoutes } from './routes.ts';

/** The OCI Distribution API at /v2/ (owner: server/registry). */
export async function setupRegistry(s: Services): Promise<Area> {
  return {
    name: 'registry',
    mount(app) {
      app.route('/v2', registryRoutes(s));
    },
  };
}
