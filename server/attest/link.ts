import type { KeyObject } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import { keyIds, publicPem, signHex, verifyHex, type InTotoSignature } from './keys.ts';

export type ArtifactMap = Record<string, { sha256: string }>;

/** Classic in-toto link, exactly the fields in-toto 1.3.1 accepts. */
export interface Link {
  signatures: InTotoSignature[];
  signed: {
    _type: 'link';
    name: string;
    command: string[];
    materials: ArtifactMap;
    products: ArtifactMap;
    byproducts: { 'return-value': number; stdout: string; stderr: string };
    environment: Record<string, string>;
  };
}

export function createLink(o: {
  key: KeyObject;
  name?: string;
  command: string[];
  materials: ArtifactMap;
  products: ArtifactMap;
  byproducts: Link['signed']['byproducts'];
  environment: Record<string, string>;
}): Link {
  const signed: Link['signed'] = {
    _type: 'link',
    name: o.name ?? 'train',
    command: o.command,
    materials: o.materials,
    products: o.products,
    byproducts: o.byproducts,
    environment: o.environment,
  };
  const keyid = keyIds(publicPem(o.key)).legacy;
  return { signatures: [{ keyid, sig: signHex(o.key, canonicalJson(signed as unknown as CanonicalValue)) }], signed };
}

/** File name in-toto-verify looks for: `<step>.<first 8 hex of keyid>.link`. */
export function linkFileName(link: Link): string {
  const keyid = link.signatures[0]?.keyid ?? '';
  return `${link.signed.name}.${keyid.slice(0, 8)}.link`;
}

/** True when some signature on the link verifies with `pubPem`. */
export function verifyLinkSignature(link: Link, pubPem: string): boolean {
  const bytes = canonicalJson(link.signed as unknown as CanonicalValue);
  const ids = keyIds(pubPem);
  return link.signatures.some(
    (s) => (s.keyid === ids.legacy || s.keyid === ids.modern) && verifyHex(pubPem, bytes, s.sig),
  );
}
