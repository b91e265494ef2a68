import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inTotoKey, keyIds, publicPem } from './ecdsa.ts';
import { createLayout, JOB_STEPS, layoutIsCurrent, type JobKind, type Layout } from './layout.ts';

// The key formats and signatures live in ecdsa.ts (layout.ts needs them too); re-exported for existing importers.
export { inTotoKey, keyIds, publicPem, signHex, verifyHex } from './ecdsa.ts';
export type { InTotoPublicKey, InTotoSignature } from './ecdsa.ts';

/** File names under `<dataDir>/keys/`. */
export const KEY_FILES = {
  platformKey: 'platform.key',
  platformPub: 'platform.pub',
  platformInToto: 'platform.intoto.json',
  rootKey: 'root.key',
  rootPub: 'root.pub',
  rootInToto: 'root.intoto.json',
  layout: 'root.layout',
} as const;

/** The one-step layout of each job kind, for in-toto-verify (which wants a link for every step of a layout). */
export const stepLayoutFile = (kind: JobKind): string => `${JOB_STEPS[kind]}.layout`;

/** Where keys live when AIBOMGEN_KEYS_DIR does not say (config.keysDir is the setting to use). */
export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

/** Generates a P-256 key pair and writes `<name>.key` (0600), `<name>.pub` (PEM) and `<name>.intoto.json`. */
async function writeKeyPair(dir: string, keyFile: string, pubFile: string, intotoFile: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const keyPath = join(dir, keyFile);
  await writeFile(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await chmod(keyPath, 0o600);
  const pem = publicPem(privateKey);
  await writeFile(join(dir, pubFile), pem);
  const { legacy } = keyIds(pem);
  await writeFile(join(dir, intotoFile), `${JSON.stringify({ keyid: legacy, ...inTotoKey(pem) }, null, 2)}\n`);
}

/** Reads a private key. Only attest code calls this (the job container never sees `<dataDir>/keys`). */
export async function loadPrivateKey(dir: string, file: string): Promise<KeyObject> {
  return createPrivateKey(await readFile(join(dir, file)));
}

export async function readPublicPem(dir: string, file: string): Promise<string> {
  return readFile(join(dir, file), 'utf8');
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** True when root.layout names every job-kind step and each step's own layout is there. */
async function layoutsCurrent(dir: string): Promise<boolean> {
  // A file cut short (a crash while it was written) reads as not current: it is written again.
  const root = await readFile(join(dir, KEY_FILES.layout), 'utf8')
    .then((t) => layoutIsCurrent(JSON.parse(t) as Layout))
    .catch(() => false);
  const steps = await Promise.all(
    (Object.keys(JOB_STEPS) as JobKind[]).map((k) => exists(join(dir, stepLayoutFile(k)))),
  );
  return root && steps.every(Boolean);
}

/**
 * Creates the platform key, the layout root key and the signed layout in the keys directory `dir` when absent;
 * returns what was created. Existing keys are never overwritten (unless `force`).
 */
export async function initKeys(
  dir: string,
  opts: { force?: boolean; layoutExpiresDays?: number } = {},
): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  if (opts.force || !(await exists(join(dir, KEY_FILES.platformKey)))) {
    await writeKeyPair(dir, KEY_FILES.platformKey, KEY_FILES.platformPub, KEY_FILES.platformInToto);
    created.push(KEY_FILES.platformKey, KEY_FILES.platformPub, KEY_FILES.platformInToto);
  }
  // A root.pub without root.key is a layout key kept offline (worker-keys.ts): never replaced by a new one.
  const rootOffline = !(await exists(join(dir, KEY_FILES.rootKey))) && (await exists(join(dir, KEY_FILES.rootPub)));
  if (opts.force || (!rootOffline && !(await exists(join(dir, KEY_FILES.rootKey))))) {
    await writeKeyPair(dir, KEY_FILES.rootKey, KEY_FILES.rootPub, KEY_FILES.rootInToto);
    created.push(KEY_FILES.rootKey, KEY_FILES.rootPub, KEY_FILES.rootInToto);
  }
  // A layout written before the job-kind steps existed is rewritten (same keys, new steps).
  const current = await layoutsCurrent(dir);
  if ((created.length > 0 || !current) && (opts.force || !rootOffline)) {
    const o = {
      rootKey: await loadPrivateKey(dir, KEY_FILES.rootKey),
      functionaryPem: await readPublicPem(dir, KEY_FILES.platformPub),
      expires: new Date(Date.now() + (opts.layoutExpiresDays ?? 365) * 86_400_000),
    };
    for (const [file, layout] of [
      [KEY_FILES.layout, createLayout(o)],
      ...(Object.keys(JOB_STEPS) as JobKind[]).map(
        (k) => [stepLayoutFile(k), createLayout({ ...o, only: k })] as const,
      ),
    ] as const) {
      await writeFile(join(dir, file), `${JSON.stringify(layout, null, 2)}\n`);
      created.push(file);
    }
  }
  return created;
}

/** A worker's own key files (in its key directory, never the platform's keys directory). */
export const WORKER_KEY_FILES = { key: 'worker.key', pub: 'worker.pub', intoto: 'worker.intoto.json' } as const;

/** Creates the worker's own key pair in `dir` when absent; returns its public key and in-toto key id. */
export async function ensureWorkerKey(dir: string): Promise<{ publicPem: string; keyId: string; created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created = !(await exists(join(dir, WORKER_KEY_FILES.key)));
  if (created) await writeKeyPair(dir, WORKER_KEY_FILES.key, WORKER_KEY_FILES.pub, WORKER_KEY_FILES.intoto);
  const publicPem = await readPublicPem(dir, WORKER_KEY_FILES.pub);
  return { publicPem, keyId: keyIds(publicPem).legacy, created };
}
