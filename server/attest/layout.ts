import type { KeyObject } from 'node:crypto';
import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import {
  inTotoKey,
  keyIds,
  publicPem,
  signHex,
  verifyHex,
  type InTotoPublicKey,
  type InTotoSignature,
} from './ecdsa.ts';

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
 * The two job kinds, each its own step (the step name is inside the signed link, so a link of one kind cannot
 * be renamed into the other without breaking its signature):
 * - `train-platform`: the platform's own TF.js trainer (trainer/), code the platform ships and vouches for;
 * - `train-image`: a trainer image a user supplied; the platform vouches only for what it measured around it
 *   (inputs, outputs, logs, the image digest), not for what the image's code did.
 */
export const JOB_STEPS = { platform: 'train-platform', image: 'train-image' } as const;
export type JobKind = keyof typeof JOB_STEPS;

/** Material naming the container image a job ran in; its sha256 is the image digest the engine reported. */
export const IMAGE_MATERIAL = 'trainer-image';

/**
 * Artifact rules of both steps. Materials are the job's inputs (under `inputs/`) and the image (the platform
 * trainer's image when it ran in a container; always for a user image), products the job's outputs (under
 * `outputs/`); anything else is refused, so a link that reports another file fails.
 */
export const TRAIN_MATERIAL_RULES: ArtifactRule[] = [
  ['ALLOW', 'inputs/*'],
  ['ALLOW', IMAGE_MATERIAL],
  ['DISALLOW', '*'],
];
export const IMAGE_MATERIAL_RULES: ArtifactRule[] = [
  ['REQUIRE', IMAGE_MATERIAL],
  ['ALLOW', 'inputs/*'],
  ['ALLOW', IMAGE_MATERIAL],
  ['DISALLOW', '*'],
];
/**
 * The step every link had before the job kinds (either kind, unsaid). Kept in root.layout only, so models
 * published then still verify; such a link states no job kind, so --platform-trainer-only refuses it.
 */
export const LEGACY_STEP = 'train';
const LEGACY_MATERIAL_RULES: ArtifactRule[] = [
  ['ALLOW', 'inputs/*'],
  ['DISALLOW', '*'],
];
export const TRAIN_PRODUCT_RULES: ArtifactRule[] = [
  ['CREATE', 'outputs/*'],
  ['ALLOW', 'outputs/*'],
  ['DISALLOW', '*'],
];

const README =
  'AIBoMGen: the platform runs a training job; the platform key or the approved key of the worker that ran it ' +
  'signs its link (every functionary key below). Step train-platform: ' +
  "the platform's own trainer (code the platform ships). Step train-image: a trainer image a user supplied " +
  '(the link records its digest as material trainer-image; the platform vouches for the inputs, outputs and ' +
  "logs it measured around the run, not for the image's code). A job has exactly one of the two links: " +
  'in-toto-verify takes the layout of that step (<step>.layout); root.layout states both. Step train: links ' +
  'made before the job kinds existed (either kind; the link does not say which).';

/** in-toto timestamps: UTC, seconds precision, `Z`. */
export function inTotoTime(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

function step(name: string, fids: string[], materials: ArtifactRule[]): LayoutStep {
  return {
    _type: 'step',
    name,
    threshold: 1,
    pubkeys: fids,
    expected_command: [],
    expected_materials: materials,
    expected_products: TRAIN_PRODUCT_RULES,
  };
}

/**
 * The unsigned body of a layout: every functionary key (the platform key, then each approved worker key) may
 * sign a step's link (threshold 1). `only` gives the layout of one step: in-toto-verify requires a link for
 * every step of a layout, and a job makes exactly one.
 */
export function layoutBody(o: { functionaryPems: string[]; expires: Date; only?: JobKind }): Layout['signed'] {
  const pems = [...new Set(o.functionaryPems)];
  const fids = pems.map((p) => keyIds(p).legacy);
  const steps = o.only
    ? [step(JOB_STEPS[o.only], fids, o.only === 'image' ? IMAGE_MATERIAL_RULES : TRAIN_MATERIAL_RULES)]
    : [
        step(JOB_STEPS.platform, fids, TRAIN_MATERIAL_RULES),
        step(JOB_STEPS.image, fids, IMAGE_MATERIAL_RULES),
        step(LEGACY_STEP, fids, LEGACY_MATERIAL_RULES),
      ];
  return {
    _type: 'layout',
    expires: inTotoTime(o.expires),
    readme: README,
    keys: Object.fromEntries(pems.map((p, i) => [fids[i]!, { keyid: fids[i]!, ...inTotoKey(p) }])),
    steps,
    inspect: [],
  };
}

/** Signs a layout body with the layout (root) key: what `aibomgen keys sign-layout` does on an offline machine. */
export function signLayout(rootKey: KeyObject, signed: Layout['signed']): Layout {
  const bytes = canonicalJson(signed as unknown as CanonicalValue);
  const ids = keyIds(publicPem(rootKey));
  // One signature per key-id convention, so old and new in-toto both find the root key's signature.
  return {
    signatures: [
      { keyid: ids.legacy, sig: signHex(rootKey, bytes) },
      { keyid: ids.modern, sig: signHex(rootKey, bytes) },
    ],
    signed,
  };
}

/** True when `layout` is signed by the root key `rootPem` (either key-id convention). */
export function layoutSignedBy(layout: Layout, rootPem: string): boolean {
  const ids = keyIds(rootPem);
  const bytes = canonicalJson(layout.signed as unknown as CanonicalValue);
  return (layout.signatures ?? []).some(
    (s) => (s.keyid === ids.legacy || s.keyid === ids.modern) && verifyHex(rootPem, bytes, s.sig),
  );
}

/** A layout signed by the root key; `functionaryPem` (the platform key) and any approved worker keys sign links. */
export function createLayout(o: {
  rootKey: KeyObject;
  functionaryPem: string;
  workerPems?: string[];
  expires: Date;
  only?: JobKind;
}): Layout {
  const body = layoutBody({
    functionaryPems: [o.functionaryPem, ...(o.workerPems ?? [])],
    expires: o.expires,
    ...(o.only ? { only: o.only } : {}),
  });
  return signLayout(o.rootKey, body);
}

/** The public keys (PEM) that may sign a step's link: the layout's functionaries. */
export function layoutFunctionaryPems(layout: Layout): string[] {
  return Object.values(layout.signed.keys ?? {}).map((k) => k.keyval.public);
}

/** True when `layout` names every step this code writes links for (an older layout is rewritten at start). */
export function layoutIsCurrent(layout: Layout): boolean {
  const names = new Set(layout.signed.steps.map((s) => s.name));
  return Object.values(JOB_STEPS).every((n) => names.has(n));
}
