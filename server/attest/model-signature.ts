/**
 * OpenSSF model signing v1.0 (PyPI `model-signing` 1.1.1), made with the platform key over the model's files, so
 * that `model_signing verify key --signature model.sig --public_key platform.pub <dir>` passes on a pulled model.
 * The format, read from model-signing's source (`_signing/signing.py`, `_signing/sign_ec_key.py`, `manifest.py`):
 * a sigstore bundle v0.3 around a DSSE in-toto Statement v1 whose one subject is the model name with a sha256
 * "root digest" = SHA-256 over the concatenated raw per-file digests, in the order of `resources`, which lists
 * every file sorted as Python sorts `PurePosixPath`s (component by component). The bundle's `publicKey.hint` is
 * SHA-256 of the public key's PEM text (model-signing compares it with the key it is given).
 */
import { createHash, createPublicKey, type KeyObject, sign } from 'node:crypto';
import type { SerializedBundle } from '@sigstore/bundle';
import { bundleToJSON } from '@sigstore/bundle';
import { DSSEBundleBuilder } from '@sigstore/sign';
import { IN_TOTO_PAYLOAD_TYPE, type Statement } from './dsse.ts';
import { publicPem } from './keys.ts';

export const PREDICATE_MODEL_SIGNING = 'https://model_signing/signature/v1.0';
/** The detached signature's file name: the layer title of the referrer, so `oras pull` of it writes this file. */
export const MODEL_SIG_FILE = 'model.sig';

export interface ModelSigningResource {
  name: string;
  algorithm: 'sha256';
  digest: string;
}

/** The predicate as model-signing writes it for `method: files` (its default ignore list: git metadata). */
export interface ModelSigningPredicate {
  serialization: { allow_symlinks: false; hash_type: 'sha256'; ignore_paths: string[]; method: 'files' };
  resources: ModelSigningResource[];
}

const IGNORE_PATHS = ['.github', '.git', '.gitattributes', '.gitignore'];

/** Python's `PurePosixPath` order: component by component, each compared by code point. */
function comparePaths(a: string, b: string): number {
  const pa = a.split('/');
  const pb = b.split('/');
  for (let i = 0; i < Math.min(pa.length, pb.length); i++)
    if (pa[i] !== pb[i]) return [...pa[i]!] < [...pb[i]!] ? -1 : 1;
  return pa.length - pb.length;
}

/** The root digest (hex) over resources in their listed order, as model-signing computes it. */
export function rootDigest(resources: readonly { digest: string }[]): string {
  const h = createHash('sha256');
  for (const r of resources) h.update(Buffer.from(r.digest, 'hex'));
  return h.digest('hex');
}

/** The model-signing Statement for files `relative path → sha256 hex` (the model's files, as pulled). */
export function modelSigningStatement(modelName: string, files: Record<string, string>): Statement {
  const resources: ModelSigningResource[] = Object.keys(files)
    .sort(comparePaths)
    .map((name) => ({ name, algorithm: 'sha256', digest: files[name]! }));
  const predicate: ModelSigningPredicate = {
    serialization: { allow_symlinks: false, hash_type: 'sha256', ignore_paths: IGNORE_PATHS, method: 'files' },
    resources,
  };
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: modelName, digest: { sha256: rootDigest(resources) } }],
    predicateType: PREDICATE_MODEL_SIGNING,
    predicate,
  };
}

/** model-signing's key hint: SHA-256 of the SPKI PEM text (not of the DER, as cosign's is). */
export function modelSigningHint(pubPem: string): string {
  const pem = createPublicKey(pubPem).export({ type: 'spki', format: 'pem' }).toString();
  return createHash('sha256').update(pem).digest('hex');
}

/** Signs the model's files with the platform key: the `model.sig` bundle. */
export async function signModel(
  modelName: string,
  files: Record<string, string>,
  key: KeyObject,
): Promise<{ bundle: SerializedBundle; statement: Statement }> {
  const st = modelSigningStatement(modelName, files);
  const pem = publicPem(key);
  const builder = new DSSEBundleBuilder({
    signer: {
      async sign(data: Buffer) {
        return {
          signature: sign('sha256', data, key),
          key: { $case: 'publicKey' as const, publicKey: pem, hint: modelSigningHint(pem) },
        };
      },
    },
    witnesses: [],
  });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(st), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  return { bundle: bundleToJSON(bundle), statement: st };
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Why a verified model-signing Statement is not about `files` (`relative path → sha256 hex`), or undefined when
 * it is: every file listed once with its digest, none missing, none extra, and the subject's root digest
 * consistent with the listed resources. Total: any shape yields a reason.
 */
export function modelSignatureProblem(st: Statement, files: Record<string, string>): string | undefined {
  if (st.predicateType !== PREDICATE_MODEL_SIGNING) return `predicate type ${String(st.predicateType)}`;
  const p = st.predicate;
  if (!isObj(p) || !Array.isArray(p.resources) || !isObj(p.serialization)) return 'not a model-signing predicate';
  const s = p.serialization;
  if (s.method !== 'files' || s.hash_type !== 'sha256')
    return `serialization ${String(s.method)}/${String(s.hash_type)}`;
  const res = p.resources as unknown[];
  if (
    !res.every(
      (r) =>
        isObj(r) && r.algorithm === 'sha256' && typeof r.name === 'string' && /^[0-9a-f]{64}$/.test(String(r.digest)),
    )
  )
    return 'a resource is not {name, algorithm: sha256, digest}';
  const list = res as ModelSigningResource[];
  if (st.subject.length !== 1 || st.subject[0]?.digest?.sha256 !== rootDigest(list))
    return 'the root digest does not match the listed files';
  const named = new Map(list.map((r) => [r.name, r.digest]));
  if (named.size !== list.length) return 'a file is listed twice';
  const missing = Object.keys(files).filter((f) => !named.has(f));
  const extra = [...named.keys()].filter((f) => !(f in files));
  const differ = Object.keys(files).filter((f) => named.has(f) && named.get(f) !== files[f]);
  const all = [
    ...differ.map((f) => `${f} differs`),
    ...missing.map((f) => `${f} not signed`),
    ...extra.map((f) => `${f} signed but not in the model`),
  ];
  return all.length ? `the model signature does not match the files: ${all.slice(0, 5).join(', ')}` : undefined;
}
