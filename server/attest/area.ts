import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { internalFetch, INTERNAL_BASE_URL, type Area, type Services } from '../context.ts';
import { mountVerifierRoutes } from '../verifier/routes.ts';
import { initKeys, KEY_FILES, loadPrivateKey } from './keys.ts';
import type { Layout } from './layout.ts';
import { OciPusher } from './oci-push.ts';
import { createPublisher } from './publisher.ts';
import { createVerifier } from './verify-chain.ts';


/** Keys, evidence, publication and verification; registers `publisher` and `verifier`, mounts /verifier (owner: server/attest). */
export async function setupAttest(s: Services): Promise<Area> {
  const dir = s.config.keysDir;
  // First start: the platform key, the layout root key and the signed layout are created when absent.
  const created = await initKeys(dir);
  if (created.length > 0) s.log.info({ dir, created }, 'attest: keys initialised');

  const pusher = new OciPusher(INTERNAL_BASE_URL, internalFetch(s, 'attest'));
  // Read per publication: with PORT=0 the real port is known only once the server listens (main.ts sets it).
  const publicHost = (): string => (s.config.publicUrl ? new URL(s.config.publicUrl).host : `${s.config.host}:${s.config.port}`);
  const layout = async (): Promise<Layout> => JSON.parse(await readFile(join(dir, KEY_FILES.layout), 'utf8')) as Layout;
  const rootPem = async (): Promise<string> => readFile(join(dir, KEY_FILES.rootPub), 'utf8');
  s.publisher = createPublisher({ pusher, registryHost: publicHost, loadKey: () => loadPrivateKey(dir, KEY_FILES.platformKey) });
  s.verifier = createVerifier(pusher, async () => ({
    platformPem: await readFile(join(dir, KEY_FILES.platformPub), 'utf8'),
    rootPem: await rootPem(),
    layout: await layout(),
  }));
  const verifier = s.verifier;
  return {
    name: 'attest',
    mount(app) {
      mountVerifierRoutes(app, { layout, rootPem, platformPem: async () => readFile(join(dir, KEY_FILES.platformPub), 'utf8'), verifyRef: (ref) => verifier.verify(ref) });
      // ref may contain '/' and ':' (e.g. models/mnist:1.0.0 or models/mnist@sha256:...).
      app.get('/verifier/verify/*', async (c) => {
        const ref = decodeURIComponent(c.req.path.slice('/verifier/verify/'.length));
        if (!ref) return c.json({ error: 'invalid_request', detail: 'a model reference is required: /verifier/verify/<repo>:<tag>' }, 400);
        const report = await verifier.verify(ref);
        return c.json(report, report.verified ? 200 : 422);
      });
    },
  };
}
