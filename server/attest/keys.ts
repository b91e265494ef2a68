import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';

/** in-toto / securesystemslib public key object (ECDSA P-256, SPKI PEM with trailing newline). */
export interface InTotoPublicKey {
  keytype: 'ecdsa';
  scheme: 'ecdsa-sha2-nistp256';
  keyid_hash_algorithms: string[];
  keyval: { public: string };
}

export interface InTotoSignature {
  keyid: string;
  sig: string;
}

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

/** Where keys live when AIBOMGEN_KEYS_DIR does not say (config.keysDir is the setting to use). */
export function keysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

export function publicPem(key: KeyObject): string {
  const pem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

export function inTotoKey(pem: string): InTotoPublicKey {
  return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyid_hash_algorithms: ['sha256', 'sha512'], keyval: { public: pem } };
}

/**
 * Key ids of a public key. securesystemslib < 1 (Debian in-toto 1.3.1) hashes the key object with
 * `keyid_hash_algorithms`; newer securesystemslib (PyPI in-toto) hashes it without. Both are returned so the
 * layout can carry a signature under each and both verifiers find theirs.
 */
export function keyIds(pem: string): { legacy: string; modern: string } {
  const k = inTotoKey(pem);
  const legacy = sha256Hex(canonicalJson(k as unknown as CanonicalValue));
  const modern = sha256Hex(canonicalJson({ keytype: k.keytype, scheme: k.scheme, keyval: k.keyval }));
  return { legacy, modern };
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** ECDSA P-256 / SHA-256 signature, DER encoded (in-toto 1.3.1 rejects raw r||s), hex. */
export function signHex(key: KeyObject, data: string | Buffer): string {
  return sign('sha256', typeof data === 'string' ? Buffer.from(data, 'utf8') : data, key).toString('hex');
}

export function verifyHex(pubPem: string, data: string | Buffer, sigHex: string): boolean {
  try {
    return verify('sha256', typeof data === 'string' ? Buffer.from(data, 'utf8') : data, createPublicKey(pubPem), Buffer.from(sigHex, 'hex'));
  } catch {
    return false;
  }
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
  return stat(p).then(() => true, () => false);
}

/**
 * Creates the platform key, the layout root key and the signed layout in the keys directory `dir` when absent;
 * returns what was created. Existing keys are never overwritten (unless `force`).
 */
export async function initKeys(dir: string, opts: { force?: boolean; layoutExpiresDays?: number } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const created: string[] = [];
  if (opts.force || !(await exists(join(dir, KEY_FILES.platformKey)))) {
    await writeKeyPair(dir, KEY_FILES.platformKey, KEY_FILES.platformPub, KEY_FILES.platformInToto);
    created.push(KEY_FILES.platformKey, KEY_FILES.platformPub, KEY_FILES.platformInToto);
  }
  if (opts.force || !(await exists(join(dir, KEY_FILES.rootKey)))) {
    await writeKeyPair(dir, KEY_FILES.rootKey, KEY_FILES.rootPub, KEY_FILES.rootInToto);
    created.push(KEY_FILES.rootKey, KEY_FILES.rootPub, KEY_FILES.rootInToto);
  }
  if (created.length > 0 || !(await exists(join(dir, KEY_FILES.layout)))) {
    const { createLayout } = await import('./layout.ts');
    const layout = createLayout({
      rootKey: await loadPrivateKey(dir, KEY_FILES.rootKey),
      functionaryPem: await readPublicPem(dir, KEY_FILES.platformPub),
      expires: new Date(Date.now() + (opts.layoutExpiresDays ?? 365) * 86_400_000),
    });
    await writeFile(join(dir, KEY_FILES.layout), `${JSON.stringify(layout, null, 2)}\n`);
    created.push(KEY_FILES.layout);
  }
  return created;
}
