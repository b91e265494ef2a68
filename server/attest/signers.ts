/**
 * The set of keys whose signatures count: the platform key and every approved worker key, as the signed in-toto
 * layout lists them (its functionaries). A document names its signer by a key hint in its own format (a link's
 * keyid, the JWK in an AIBoM's JSF signature, a DSSE keyid); a hint is written by whoever pushed the document,
 * so it only picks which trusted key to try: the signature decides.
 */
import { createPublicKey } from 'node:crypto';
import { keyHint } from './dsse.ts';
import { keyIds } from './ecdsa.ts';
import { type Layout, layoutSignedBy } from './layout.ts';
import { modelSigningHint } from './model-signature.ts';

/** One trusted key with every id a format may name it by. */
export interface TrustedSigner {
  pem: string;
  /** SHA-256 of the SPKI DER (cosign's key hint): the id verdicts report as `signerKeyId`. */
  keyId: string;
  /** The in-toto key ids (securesystemslib < 1 and ≥ 1) a link's signature names. */
  inToto: { legacy: string; modern: string };
  /** model-signing's hint: SHA-256 of the PEM text. */
  modelSigning: string;
}

/** The PEMs as signers, once each, in the order given; a PEM that is not a public key is left out (trusts nothing). */
export function trustedSigners(pems: readonly string[]): TrustedSigner[] {
  const out = new Map<string, TrustedSigner>();
  for (const pem of pems) {
    try {
      const keyId = keyHint(pem);
      if (!out.has(keyId)) out.set(keyId, { pem, keyId, inToto: keyIds(pem), modelSigning: modelSigningHint(pem) });
    } catch {
      // Not a public key: nothing can verify with it.
    }
  }
  return [...out.values()];
}

/**
 * The first key of `keys` whose `attempt` succeeds (returns a value; false, undefined or a throw: it does not),
 * with that value, else the last error thrown. The set is small: trying each is cheap.
 */
export function firstVerifying<T>(
  keys: readonly TrustedSigner[],
  attempt: (k: TrustedSigner) => T | false | undefined,
): { signer?: TrustedSigner; value?: T; error?: unknown } {
  let error: unknown;
  for (const k of keys) {
    try {
      const value = attempt(k);
      if (value !== false && value !== undefined) return { signer: k, value };
    } catch (e) {
      error = e;
    }
  }
  return { error };
}

/** The reason a document signed by a key outside the set does not count. */
export const notTrusted = (keyId: string): string => `signed by key ${keyId}, which is not a trusted signer`;

/** A layout that does not yield signers: its signature does not verify with the root key, or a key is unreadable. */
export class LayoutSignersError extends Error {
  override name = 'LayoutSignersError';
}

/**
 * The PEMs of the layout's functionary keys (`signed.keys[*].keyval.public`), in the layout's order, only when the
 * layout is signed by `rootPem` (either in-toto key-id convention): a layout that does not verify yields no
 * signers, it throws. Expiry is not judged here: the chain's `layout expiry` check fails an expired layout.
 */
export function layoutSigners(layout: Layout, rootPem: string): string[] {
  const signed = layout?.signed;
  if (!signed || typeof signed !== 'object' || !Array.isArray(layout.signatures))
    throw new LayoutSignersError('not an in-toto layout (signed, signatures)');
  try {
    createPublicKey(rootPem);
  } catch {
    throw new LayoutSignersError('the layout root key is not a PEM public key');
  }
  // As in-toto (and intoto-verify.ts) do: the root key's ids are those of its PEM text as given.
  if (!layoutSignedBy(layout, rootPem)) throw new LayoutSignersError('the layout is not signed by the given root key');
  const pems: string[] = [];
  for (const [id, k] of Object.entries(signed.keys ?? {})) {
    const pem = k?.keyval?.public;
    if (typeof pem !== 'string' || trustedSigners([pem]).length === 0)
      throw new LayoutSignersError(`layout key ${id} is not a PEM public key`);
    if (!pems.includes(pem)) pems.push(pem);
  }
  return pems;
}
