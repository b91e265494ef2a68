/**
 * ECDSA P-256 keys in the formats in-toto and securesystemslib use: the public key object, its key ids, and
 * DER signatures in hex. Pure functions, no files: keys.ts (the key files) and layout.ts (the signed layout)
 * both build on this, so neither needs the other's internals.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
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

export function publicPem(key: KeyObject): string {
  const pem = createPublicKey(key).export({ type: 'spki', format: 'pem' }).toString();
  return pem.endsWith('\n') ? pem : `${pem}\n`;
}

export function inTotoKey(pem: string): InTotoPublicKey {
  return {
    keytype: 'ecdsa',
    scheme: 'ecdsa-sha2-nistp256',
    keyid_hash_algorithms: ['sha256', 'sha512'],
    keyval: { public: pem },
  };
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
    return verify(
      'sha256',
      typeof data === 'string' ? Buffer.from(data, 'utf8') : data,
      createPublicKey(pubPem),
      Buffer.from(sigHex, 'hex'),
    );
  } catch {
    return false;
  }
}
