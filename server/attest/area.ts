import type { KeyObject } from 'node:crypto';
import { hostname } from 'node:os';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import type { ModelVerifier, Publisher } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import { parseReference } from '../../schema/reference.ts';
import { type Caller, PLATFORM } from '../identity.ts';
import type { OciTarget } from '../oci/target.ts';
import { mountVerifierRoutes } from '../verifier/routes.ts';
import {
  ensureWorkerKey,
  initKeys,
  KEY_FILES,
  keyIds,
  loadPrivateKey,
  readPublicPem,
  WORKER_KEY_FILES,
} from './keys.ts';
import { type Layout, layoutFunctionaryPems } from './layout.ts';
import type { ModelNames } from './model-names.ts';
import { createPublisher } from './publisher.ts';
import { createVerifier } from './verify-chain.ts';
import { TrustStore } from './trust-store.ts';
import { mountWorkerKeyRoutes } from './worker-key-routes.ts';
import { WorkerKeys } from './worker-keys.ts';

export interface AttestDeps {
  config: Config;
  db: Db;
  log: Logger;
  /** Worker-key administration needs an administrator only while auth is on. */
  authEnabled: boolean;
  /** After a worker key is revoked (its public key): the lineage index stops counting what it signed. */
  onRevoked?: (publicPem: string) => Promise<void>;
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
  /** The keys whose signatures count (PEMs, the platform key first): the verifier's and the lineage index's set. */
  readonly signers: () => Promise<string[]>;
  /** The key this node signs its jobs' evidence with (in-toto key id), and whether it may take jobs now. */
  readonly signing: { keyId: string; mayRunJobs(): Promise<boolean> };
  /** The workers' own keys: enrolment, approval, revocation and the layouts that list them. */
  readonly workerKeys: WorkerKeys;
  /** /verifier/*, answering with `verifier` (the counted one the composition root hands out). */
  mount(app: Hono<AppEnv>, verifier?: ModelVerifier): void;
}

/** Keys, evidence, publication and verification (owner: server/attest). */
export async function createAttestArea(d: AttestDeps): Promise<AttestArea> {
  const { config, log } = d;
  const dir = config.keysDir;
  // A worker with its own key holds no platform key: it reads the layouts in force from the database.
  const own = config.workerKeys === 'own';
  if (!own) {
    // First start: the platform key, the layout root key and the signed layout are created when absent.
    const created = await initKeys(dir);
    if (created.length > 0) log.info({ dir, created }, 'attest: keys initialised');
  }
  const trustStore = new TrustStore(d.db, own ? undefined : dir);
  const workerKeys = new WorkerKeys(d.db, trustStore, { ...(own ? {} : { keysDir: dir }), layoutExpiresDays: 365 });
  if (!own) {
    const version = await workerKeys.ensureCurrent();
    if (version !== null)
      log.info({ version }, 'attest: layouts signed for the platform key and the approved worker keys');
  }
  const signing = own ? await ownSigningKey(config, workerKeys, log) : await platformSigningKey(dir);

  // Read per publication: with PORT=0 the real port is known only once the server listens (main.ts sets it).
  const publicHost = (): string =>
    config.publicUrl ? new URL(config.publicUrl).host : `${config.host}:${config.port}`;
  const layout = async (): Promise<Layout> => (await trustStore.current()).layouts.root;
  const rootPem = async (): Promise<string> => (await trustStore.current()).rootPem;
  // The functionaries of the layouts in force (the platform key among them; their signature checked by the trust
  // store), less every key revoked since: a revocation counts at once, also while an offline root key has not
  // signed the layouts without it yet. The database can only narrow this set, never widen it.
  const signers = async (): Promise<string[]> => {
    const revoked = await workerKeys.revokedIds();
    return layoutFunctionaryPems(await layout()).filter((p) => !revoked.has(keyIds(p).legacy));
  };
  const publisher = createPublisher({
    target: d.registry.as(PLATFORM),
    namespace: config.trustedNamespace,
    claimName: (repo, owner) => d.modelNames.claim(repo, owner),
    registryHost: publicHost,
    loadKey: signing.loadKey,
    minScore: config.minAibomScore,
  });
  const trust = async () => ({ signers: await signers(), rootPem: await rootPem(), layout: await layout() });
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
    signers,
    signing: { keyId: signing.keyId, mayRunJobs: signing.mayRunJobs },
    workerKeys,
    mount(app, served = verifier) {
      mountWorkerKeyRoutes(app, {
        keys: workerKeys,
        trust: trustStore,
        authEnabled: d.authEnabled,
        ...(d.onRevoked ? { revoked: d.onRevoked } : {}),
      });
      mountVerifierRoutes(app, {
        layout,
        rootPem,
        signers,
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

interface SigningKey {
  keyId: string;
  loadKey(): Promise<KeyObject>;
  mayRunJobs(): Promise<boolean>;
}

async function platformSigningKey(dir: string): Promise<SigningKey> {
  const pem = await readPublicPem(dir, KEY_FILES.platformPub);
  return {
    keyId: keyIds(pem).legacy,
    loadKey: () => loadPrivateKey(dir, KEY_FILES.platformKey),
    mayRunJobs: async () => true,
  };
}

/**
 * This worker's own key: made on first start, enrolled for approval. It signs only while approved and listed
 * in the layouts in force — checked before each job is claimed and again when a job's evidence is signed, so a
 * key revoked mid-job publishes nothing.
 */
async function ownSigningKey(config: Config, keys: WorkerKeys, log: Logger): Promise<SigningKey> {
  const k = await ensureWorkerKey(config.workerKeyDir);
  const workerId = config.workerId ?? hostname();
  const view = await keys.enroll(workerId, k.publicPem);
  const where = { worker: workerId, keyId: k.keyId, dir: config.workerKeyDir };
  if (view.state === 'approved' && view.inLayout) log.info(where, 'attest: signing with this worker’s approved key');
  else if (view.state === 'revoked') log.error(where, 'attest: this worker’s key is revoked: it takes no jobs');
  else
    log.warn(
      { ...where, state: view.state },
      `attest: this worker's key waits for approval (aibomgen workers approve ${workerId}); no job runs here until then`,
    );
  const active = () => keys.active(k.keyId);
  return {
    keyId: k.keyId,
    mayRunJobs: active,
    async loadKey() {
      if (!(await active()))
        throw new Error(
          `this worker's key ${k.keyId.slice(0, 16)} is not approved or was revoked: nothing of this job is signed or published`,
        );
      return loadPrivateKey(config.workerKeyDir, WORKER_KEY_FILES.key);
    },
  };
}
