import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { bundleFromJSON, bundleToJSON, type SerializedBundle } from '@sigstore/bundle';
import { DSSEBundleBuilder, RekorWitness, type Signer } from '@sigstore/sign';
import { toSignedEntity, toTrustMaterial, Verifier } from '@sigstore/verify';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import { publicPem } from './keys.ts';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const PREDICATE_CYCLONEDX = 'https://cyclonedx.org/bom';
export const PREDICATE_SLSA_V1 = 'https://slsa.dev/provenance/v1';

export interface Statement {
  _type: 'https://in-toto.io/Statement/v1';
  subject: { name: string; digest: { sha256: string } }[];
  predicateType: string;
  predicate: unknown;
}

/** in-toto Statement v1 about one OCI manifest (subject digest = the manifest digest, so replays fail). */
export function statement(
  subjectName: string,
  manifestDigest: string,
  predicateType: string,
  predicate: unknown,
): Statement {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: subjectName, digest: { sha256: manifestDigest.replace(/^sha256:/, '') } }],
    predicateType,
    predicate,
  };
}

/** Key id hint in the bundle: SHA-256 of the SPKI DER (what cosign prints for key-based bundles). */
export function keyHint(pubPem: string): string {
  return createHash('sha256')
    .update(createPublicKey(pubPem).export({ type: 'spki', format: 'der' }))
    .digest('hex');
}

/** A sigstore-js signer backed by the platform key (DER ECDSA P-256 / SHA-256, as cosign expects). */
export function platformSigner(key: KeyObject): Signer {
  const pem = publicPem(key);
  return {
    async sign(data: Buffer) {
      // Empty key hint: cosign skips a DSSE signature whose keyid differs from its own idea of the key's id.
      return { signature: sign('sha256', data, key), key: { $case: 'publicKey' as const, publicKey: pem, hint: '' } };
    },
  };
}

/**
 * Signs a Statement as a DSSE envelope in a sigstore bundle v0.3. No transparency log or CA is reachable
 * here, so no witnesses (a Rekor witness can be added where one is configured).
 */
export async function signStatement(
  st: Statement,
  key: KeyObject,
  rekorUrl: string | undefined = process.env.AIBOMGEN_REKOR_URL,
): Promise<SerializedBundle> {
  // AIBOMGEN_REKOR_URL (off by default): installs with a reachable Rekor get a transparency-log entry too.
  const witnesses = rekorUrl ? [new RekorWitness({ rekorBaseURL: rekorUrl, entryType: 'dsse' })] : [];
  const builder = new DSSEBundleBuilder({ signer: platformSigner(key), witnesses });
  const bundle = await builder.create({ data: Buffer.from(JSON.stringify(st), 'utf8'), type: IN_TOTO_PAYLOAD_TYPE });
  return bundleToJSON(bundle);
}

const EMPTY_ROOT: TrustedRoot = {
  mediaType: 'application/vnd.dev.sigstore.trustedroot.v0.2+json',
  tlogs: [],
  certificateAuthorities: [],
  ctlogs: [],
  timestampAuthorities: [],
};

/**
 * Verifies a key-signed bundle offline with the platform public key and returns its Statement.
 * Throws when the signature does not verify or the payload is not an in-toto Statement.
 */
export function verifyStatementBundle(json: unknown, pubPem: string): Statement {
  const bundle = bundleFromJSON(json);
  const publicKey = createPublicKey(pubPem);
  const trust = toTrustMaterial(EMPTY_ROOT, () => ({ publicKey, validFor: () => true }));
  new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
  if (bundle.content.$case !== 'dsseEnvelope') throw new Error('bundle holds no DSSE envelope');
  const env = bundle.content.dsseEnvelope;
  if (env.payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new Error(`unexpected DSSE payload type ${env.payloadType}`);
  const st = JSON.parse(env.payload.toString('utf8')) as Statement;
  if (st._type !== 'https://in-toto.io/Statement/v1' || !Array.isArray(st.subject))
    throw new Error('DSSE payload is not an in-toto Statement v1');
  return st;
}
