import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import type { ModelVerifier, Publisher } from '../contracts.ts';
import { parseReference } from '../../schema/reference.ts';
import { type Caller, PLATFORM } from '../identity.ts';
import type { OciTarget } from '../oci/target.ts';
import { mountVerifierRoutes } from '../verifier/routes.ts';
import { initKeys, KEY_FILES, loadPrivateKey } from './keys.ts';
import type { Layout } from './layout.ts';
import type { ModelNames } from './model-names.ts';
import { createPublisher } from './publisher.ts';
import { createVerifier } from './verify-chain.ts';

export interface AttestDeps {
  config: Config;
  log: Logger;
  /**
   * The registry in process: the publisher writes through it as the platform; the verifier reads it as the
   * caller who asked (a caller who may not pull a model cannot learn of it through verification).
   */
  registry: { as(caller: Caller): OciTarget; authorize(caller: Caller, repo: string, action: 'pull'): void };
  /** Who owns which model name. */
  modelNames: ModelNames;
}

export interface AttestArea {
  readonly publisher: Publisher;
  readonly verifier: ModelVerifier;
  /** /verifier/*, answering with `verifier` (the counted one the composition root hands out). */
  mount(app: Hono<AppEnv>, verifier?: ModelVerifier): void;
}

/** Keys, evidence, publication and verification (owner: server/attest). */
export async function createAttestArea(d: AttestDeps): Promise<AttestArea> {
  const { config } = d;
  const dir = config.keysDir;
  // First start: the platform key, the layout root key and the signed layout are created when absent.
  const created = await initKeys(dir);
  if (created.length > 0) d.log.info({ dir, created }, 'attest: keys initialised');

  // Read per publication: with PORT=0 the real port is known only once the server listens (main.ts sets it).
  const publicHost = (): string =>
    config.publicUrl ? new URL(config.publicUrl).host : `${config.host}:${config.port}`;
  const layout = async (): Promise<Layout> => JSON.parse(await readFile(join(dir, KEY_FILES.layout), 'utf8')) as Layout;
  const rootPem = async (): Promise<string> => readFile(join(dir, KEY_FILES.rootPub), 'utf8');
  const platformPem = async (): Promise<string> => readFile(join(dir, KEY_FILES.platformPub), 'utf8');
  const publisher = createPublisher({
    target: d.registry.as(PLATFORM),
    namespace: config.trustedNamespace,
    claimName: (repo, owner) => d.modelNames.claim(repo, owner),
    registryHost: publicHost,
    loadKey: () => loadPrivateKey(dir, KEY_FILES.platformKey),
    minScore: config.minAibomScore,
  });
  const trust = async () => ({ platformPem: await platformPem(), rootPem: await rootPem(), layout: await layout() });
  const verifier: ModelVerifier = {
    async verify(ref, caller = PLATFORM) {
      // Refused before anything is read: the report would otherwise name the model's digest.
      const { repo } = parseReference(ref);
      if (repo) d.registry.authorize(caller, repo, 'pull');
      return createVerifier(d.registry.as(caller), trust).verify(ref);
    },
  };
  return {
    publisher,
    verifier,
    mount(app, served = verifier) {
      mountVerifierRoutes(app, {
        layout,
        rootPem,
        platformPem,
        verifyRef: (ref, caller) => served.verify(ref, caller),
      });
      // ref may contain '/' and ':' (e.g. models/mnist:1.0.0 or models/mnist@sha256:...).
      app.get('/verifier/verify/*', async (c) => {
        const ref = decodeURIComponent(c.req.path.slice('/verifier/verify/'.length));
        if (!ref)
          return c.json(
            { error: 'invalid_request', detail: 'a model reference is required: /verifier/verify/<repo>:<tag>' },
            400,
          );
        const report = await served.verify(ref, c.get('caller'));
        return c.json(report, report.verified ? 200 : 422);
      });
    },
  };
}
