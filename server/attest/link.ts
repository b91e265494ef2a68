import type { KeyObject } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import { keyIds, publicPem, signHex, verifyHex, type InTotoSignature } from './keys.ts';
import { IMAGE_MATERIAL, JOB_STEPS, type JobKind } from './layout.ts';

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
    /** `inputs-read`: the data-access record (data-access.ts), when the job kind allows one. */
    byproducts: { 'return-value': number; stdout: string; stderr: string; 'inputs-read'?: string[] };
    environment: Record<string, string>;
  };
}

/** The job kind a link is for, from its (signed) step name; undefined for any other name (an older `train`). */
export function jobKindOf(link: Link): JobKind | undefined {
  return (Object.keys(JOB_STEPS) as JobKind[]).find((k) => JOB_STEPS[k] === link.signed.name);
}

/** The image material of a job that ran in a container: name `trainer-image`, the engine's image digest. */
export function imageMaterial(imageDigest: string | undefined): ArtifactMap {
  const hex = /^(?:sha256:)?([0-9a-f]{64})$/.exec(imageDigest ?? '')?.[1];
  return hex ? { [IMAGE_MATERIAL]: { sha256: hex } } : {};
}

export function createLink(o: {
  key: KeyObject;
  /** The step (layout.ts JOB_STEPS); default: the platform trainer's. */
  name?: string;
  command: string[];
  materials: ArtifactMap;
  products: ArtifactMap;
  byproducts: Link['signed']['byproducts'];
  environment: Record<string, string>;
}): Link {
  const signed: Link['signed'] = {
    _type: 'link',
    name: o.name ?? JOB_STEPS.platform,
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
