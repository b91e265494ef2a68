import { canonicalJson, type CanonicalValue } from './canonical-json.ts';
import { keyIds, verifyHex } from './keys.ts';
import type { Layout } from './layout.ts';
import { verifyLinkSignature, type Link } from './link.ts';
import { checkArtifactRules } from './rules.ts';
import type { VerificationCheck } from '../contracts.ts';

/** The seed verifier's detail fields, plus the checks behind them. */
export type { InTotoVerification } from '../../schema/verification.ts';
import type { InTotoVerification } from '../../schema/verification.ts';

/**
 * in-toto verification in TypeScript, public keys only: layout signed by the root key and not expired, the
 * link signed by a functionary the layout names for its step, and the step's artifact rules.
 */
export function verifyLayoutAndLink(o: {
  layout: Layout;
  rootPem: string;
  link: Link;
  now?: Date;
}): InTotoVerification {
  const checks: VerificationCheck[] = [];
  const layoutBytes = canonicalJson(o.layout.signed as unknown as CanonicalValue);
  const rootIds = keyIds(o.rootPem);
  const layoutSig = o.layout.signatures.some(
    (s) => (s.keyid === rootIds.legacy || s.keyid === rootIds.modern) && verifyHex(o.rootPem, layoutBytes, s.sig),
  );
  checks.push({
    name: 'layout signature',
    passed: layoutSig,
    ...(layoutSig ? {} : { reason: 'layout is not signed by the given root key' }),
  });
  const expires = o.layout.signed.expires;
  const expired = !(Date.parse(expires) > (o.now ?? new Date()).getTime());
  checks.push({
    name: 'layout expiry',
    passed: !expired,
    ...(expired ? { reason: `layout expired at ${expires}` } : {}),
  });

  const step = o.layout.signed.steps.find((s) => s.name === o.link.signed.name);
  let found = 0;
  if (step) {
    for (const keyid of step.pubkeys) {
      const k = o.layout.signed.keys[keyid];
      if (k && verifyLinkSignature(o.link, k.keyval.public)) found++;
    }
  }
  const required = step?.threshold ?? 1;
  const linkSig = !!step && found >= required;
  checks.push({
    name: 'link signatures',
    passed: linkSig,
    ...(linkSig
      ? {}
      : {
          reason: step
            ? `step ${step.name} needs ${required} valid functionary signature(s), found ${found}`
            : `layout has no step ${o.link.signed.name}`,
        }),
  });
  const { materials, products } = o.link.signed;
  const matErr = step
    ? checkArtifactRules(step.expected_materials, materials, materials, products, 'materials')
    : 'no step';
  const prodErr = step
    ? checkArtifactRules(step.expected_products, products, materials, products, 'products')
    : 'no step';
  checks.push({ name: 'material rules', passed: !matErr, ...(matErr ? { reason: matErr } : {}) });
  checks.push({ name: 'product rules', passed: !prodErr, ...(prodErr ? { reason: prodErr } : {}) });
  return {
    verified: checks.every((c) => c.passed),
    layout_signature: layoutSig,
    layout_expired: expired,
    layout_expires: expires,
    link_signatures: linkSig,
    threshold: { required, found },
    artifact_rules: { materials: matErr ?? null, products: prodErr ?? null },
    checks,
  };
}
