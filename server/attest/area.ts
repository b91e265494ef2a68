import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Area, Services } from '../context.ts';
import { mountVerifierRoutes } from '../verifier/routes.ts';
import { initKeys, KEY_FILES, keysDir } from './keys.ts';
import type { Layout } from './layout.ts';

/** Keys, evidence, publication and verification; registers `publisher` and `verifier`, mounts /verifier (owner: server/attest). */
export async function setupAttest(s: Services): Promise<Area> {
  const dir = keysDir(s.config.dataDir);
  // First start: the platform key, the layout root key and the signed layout are created when absent.
  const created = await initKeys(s.config.dataDir);
  if (created.length > 0) s.log.info({ dir, created }, 'attest: keys initialised');
  return {
    name: 'attest',
    mount(app) {
      mountVerifierRoutes(app, {
        layout: async () => JSON.parse(await readFile(join(dir, KEY_FILES.layout), 'utf8')) as Layout,
        rootPem: async () => readFile(join(dir, KEY_FILES.rootPub), 'utf8'),
      });
    },
  };
}
