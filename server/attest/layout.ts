import type { KeyObject } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import { inTotoKey, keyIds, publicPem, signHex, type InTotoPublicKey, type InTotoSignature } from './ecdsa.ts';

export type ArtifactRule = string[];

export interface LayoutStep {
  _type: 'step';
  name: string;
  threshold: number;
  pubkeys: string[];
  expected_command: string[];
  expected_materials: ArtifactRule[];
  expected_products: ArtifactRule[];
}

export interface Layout {
  signatures: InTotoSignature[];
  signed: {
    _type: 'layout';
    expires: string;
    readme: string;
    keys: Record<string, InTotoPublicKey & { keyid: string }>;
    steps: LayoutStep[];
    inspect: never[];
  };
}

/**
 * Artifact rules of step `train`. Materials are the job's inputs (under `inputs/`), products the trainer's
 * outputs (under `outputs/`); anything else is refused, so a link that reports another file fails.
 */
export const TRAIN_MATERIAL_RULES: ArtifactRule[] = [
  ['ALLOW', 'inputs/*'],
  ['DISALLOW', '*'],
];
export const TRAIN_PRODUCT_RULES: ArtifactRule[] = [
  ['CREATE', 'outputs/*'],
  ['ALLOW', 'outputs/*'],
  ['DISALLOW', '*'],
];

/** in-toto timestamps: UTC, seconds precision, `Z`. */
export function inTotoTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** Layout with step `train` whose functionary is the platform key, signed by the root key. */
export function createLayout(o: { rootKey: KeyObject; functionaryPem: string; expires: Date }): Layout {
  const fid = keyIds(o.functionaryPem).legacy;
  const signed: Layout['signed'] = {
    _type: 'layout',
    expires: inTotoTime(o.expires),
    readme: 'AIBoMGen: the platform trains the model (step train) and signs the link with its platform key.',
    keys: { [fid]: { keyid: fid, ...inTotoKey(o.functionaryPem) } },
    steps: [
      {
        _type: 'step',
        name: 'train',
        threshold: 1,
        pubkeys: [fid],
        expected_command: [],
        expected_materials: TRAIN_MATERIAL_RULES,
        expected_products: TRAIN_PRODUCT_RULES,
      },
    ],
    inspect: [],
  };
  const bytes = canonicalJson(signed as unknown as CanonicalValue);
  const ids = keyIds(publicPem(o.rootKey));
  // One signature per key-id convention, so old and new in-toto both find the root key's signature.
  const sig = signHex(o.rootKey, bytes);
  return {
    signatures: [
      { keyid: ids.legacy, sig },
      { keyid: ids.modern, sig: signHex(o.rootKey, bytes) },
    ],
    signed,
  };
}
