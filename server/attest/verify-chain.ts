import { createHash } from 'node:crypto';
import pMap from 'p-map';
import { Annotation, MediaType } from '../../schema/media-types.ts';
import { parseReference } from '../../schema/reference.ts';
import type { ModelVerifier, VerificationCheck, VerificationReport } from '../contracts.ts';
import type { OciDescriptor, OciTarget } from '../oci/target.ts';
import { aibomModelSignatureRoot, jcs } from './aibom.ts';
import {
  checkCosignSignature,
  checkEvidence,
  type EvidenceKind,
  type EvidenceSubject,
  type EvidenceVerdict,
} from './evidence-check.ts';
import { verifyLayoutAndLink } from './intoto-verify.ts';
import type { Layout } from './layout.ts';
import { jobKindOf, type Link } from './link.ts';
import { judgeEvaluation } from './evaluation.ts';
import { hashBlob, outputFiles, parseImageManifest, readManifest } from './oci-read.ts';
import { scoreAibom } from './score.ts';
import { cdxDatasetDigests, spdxDatasetDigests } from './spdx.ts';

/**
 * What a verification trusts: the signer keys (PEMs, the platform key first; with per-worker keys, the layout's
 * functionaries: signers.ts layoutSigners) and, optionally, the in-toto layout and its root key.
 */
export interface TrustKeys {
  signers: string[];
  layout?: Layout;
  rootPem?: string;
}

/** A counted piece's signer, in its check's name: which trusted key vouches for it. */
const by = (v: { signerKeyId: string | null }): string => ` by key ${v.signerKeyId}`;

/** Referrers judged at once (each reads at most one small evidence blob). */
const REFERRER_CONCURRENCY = 4;
/** More referrers than this on one manifest are not read (listed as a warning): verification stays bounded. */
const MAX_REFERRERS = 10_000;

/** One line per candidate that did not count, for a failed "present" check. */
function whyNot(verdicts: EvidenceVerdict[], kinds: EvidenceKind[], mediaType: string): string {
  const c = verdicts.filter((v) => !v.verified && (kinds.includes(v.kind) || v.artifactType === mediaType));
  if (c.length === 0) return ` (${mediaType}): none attached`;
  const shown = c.slice(0, 3).map((v) => `${v.digest}: ${v.reason}`);
  return ` (${mediaType}) verifies; ${c.length} attached: ${shown.join('; ')}${c.length > 3 ? '; …' : ''}`;
}

/**
 * The full chain with public keys only: manifest digest, every blob's hash (streamed: any size, constant
 * memory), then the evidence. Evidence is picked by signature and subject, never by position or date: of the
 * referrers, the ones that verify with a trusted signer key and are about this manifest count (the in-toto link and
 * the AIBoM that names it, the DSSE statements about this digest, the cosign signature); every other referrer is
 * listed as a passed warning check ("attachment <digest>: not counted: …") and fails nothing. Total: any
 * manifest or referrer shape yields a failed check with a reason, never an exception.
 */
export async function verifyModel(p: OciTarget, ref: string, keys: TrustKeys): Promise<VerificationReport> {
  const checks: VerificationCheck[] = [];
  const check = (name: string, passed: boolean, reason?: string): boolean => {
    checks.push({ name, passed, ...(passed || !reason ? {} : { reason }) });
    return passed;
  };
  const warn = (name: string, reason: string): void => void checks.push({ name, passed: true, reason });
  const parsed = parseReference(ref);
  if (parsed.invalid) {
    check('manifest', false, `invalid reference ${ref}: ${parsed.invalid}`);
    return { ref, verified: false, checks };
  }
  const { repo, reference } = parsed;
  const got = await readManifest(p, repo, reference);
  if (!got.ok) {
    if (/altered/.test(got.reason)) check('manifest digest', false, got.reason);
    else check('manifest', false, /missing/.test(got.reason) ? `${repo}:${reference} not found` : got.reason);
    return { ref, verified: false, checks };
  }
  const { digest } = got;
  if (parsed.byDigest) check('manifest digest', digest === reference);
  const pm = parseImageManifest(got.bytes);
  if (!pm.ok) {
    check('manifest', false, pm.reason);
    return { ref, digest, verified: false, checks };
  }
  const m = pm.manifest;
  check(
    'model artifact type',
    m.artifactType === MediaType.modelManifestArtifact,
    `artifactType ${m.artifactType ?? '(none)'}`,
  );

  // Every blob the manifest names must be exactly what its descriptor says; weights are hashed as streams.
  for (const d of [m.config, ...m.layers]) {
    const what = d.annotations?.[Annotation.title] ?? (d === m.config ? 'config' : d.digest);
    const r = await hashBlob(p, repo, d);
    check(`blob ${what}`, r.ok, r.ok ? undefined : `${what}: ${r.reason}`);
  }
  const files = outputFiles(m.layers);
  const subject: EvidenceSubject = {
    digest,
    mediaType: m.mediaType ?? got.mediaType,
    size: got.bytes.byteLength,
    files,
  };

  // Every referrer judged on its own (signature with a trusted signer key + subject), in digest order.
  let refs: OciDescriptor[] = [];
  try {
    refs = await p.referrers(repo, digest);
  } catch (e) {
    warn('referrers', `not listed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const unique = [...new Set(refs.map((r) => (typeof r?.digest === 'string' ? r.digest : '')).filter(Boolean))].sort();
  if (unique.length > MAX_REFERRERS)
    warn('referrers', `${unique.length} referrers: only the first ${MAX_REFERRERS} read`);
  const verdicts = await pMap(unique.slice(0, MAX_REFERRERS), (d) => checkEvidence(p, repo, subject, d, keys.signers), {
    concurrency: REFERRER_CONCURRENCY,
  });
  const counted = (k: EvidenceKind) => verdicts.filter((v) => v.verified && v.kind === k);
  const links = counted('in-toto-link');
  const boms = counted('aibom');
  const linkSha = (v: EvidenceVerdict): string => createHash('sha256').update(v.content!.bytes).digest('hex');
  const names = (bom: EvidenceVerdict, link: EvidenceVerdict): boolean =>
    JSON.stringify(bom.content!.doc).includes(`urn:in-toto:link:sha256:${linkSha(link)}`);
  // The AIBoM and the link that name each other, when there are such (else the first of each, and a check fails).
  const pair = boms.flatMap((b) => links.filter((l) => names(b, l)).map((l) => [b, l] as const))[0];
  const link = pair?.[1] ?? links[0];
  const bom = pair?.[0] ?? boms[0];
  const bomSigs = counted('aibom-signature');
  const bomSig =
    bomSigs.find((s) => bom && jcs(s.content!.statement!.predicate) === jcs(bom.content!.doc)) ?? bomSigs[0];
  const slsa = counted('slsa-provenance')[0];
  const modelSig = counted('model-signature')[0];
  const spdx = counted('spdx')[0];

  // in-toto link.
  if (
    check('in-toto link present', !!link, `no in-toto link${whyNot(verdicts, ['in-toto-link'], MediaType.inTotoLink)}`)
  ) {
    const l = link!.content!.doc as Link;
    check(`in-toto link signature${by(link!)}`, true);
    if (keys.layout && keys.rootPem) {
      const v = verifyLayoutAndLink({ layout: keys.layout, rootPem: keys.rootPem, link: l });
      for (const c of v.checks) checks.push({ ...c, name: `in-toto ${c.name}` });
    }
    const products = l.signed.products;
    const mism = Object.keys(files).filter((k) => products[k]?.sha256 !== files[k]);
    const missing = Object.keys(products).filter((k) => k.startsWith('outputs/') && !(k in files));
    check(
      'link products = pulled files',
      mism.length === 0 && missing.length === 0,
      `${mism.length ? `files differ from the link: ${mism.join(', ')}` : ''}${missing.length ? ` link products not in the model: ${missing.join(', ')}` : ''}`.trim(),
    );
  }

  // AIBoM with JSF signature, bound to this manifest and this link.
  if (check('AIBoM present', !!bom, `no AIBoM${whyNot(verdicts, ['aibom'], MediaType.cyclonedxJson)}`)) {
    check(`AIBoM signature${by(bom!)}`, true);
    check('AIBoM names this manifest', true);
    check('AIBoM references this link', !link || names(bom!, link), 'AIBoM refers to another in-toto link');
  }

  // DSSE statements (cosign-style bundles) about this digest.
  for (const b of [bomSig, slsa]) {
    if (!b) continue;
    check(`DSSE ${b.content!.statement!.predicateType} signature${by(b)}`, true);
    check(`DSSE ${b.content!.statement!.predicateType} subject`, true);
  }
  if (bomSig && bom)
    check(
      'DSSE AIBoM = attached AIBoM',
      jcs(bomSig.content!.statement!.predicate) === jcs(bom.content!.doc),
      'the signed AIBoM statement differs from the attached AIBoM',
    );
  const bundleKinds: EvidenceKind[] = ['aibom-signature', 'slsa-provenance', 'model-signature', 'sigstore-bundle'];
  check(
    'CycloneDX attestation present',
    !!bomSig,
    `no valid CycloneDX DSSE attestation${whyNot(verdicts, bundleKinds, MediaType.sigstoreBundle)}`,
  );
  check(
    'SLSA provenance present',
    !!slsa,
    `no valid SLSA provenance DSSE attestation${whyNot(verdicts, bundleKinds, MediaType.sigstoreBundle)}`,
  );

  // OpenSSF model signature (model.sig) over the pulled files, and the AIBoM naming its root digest. A signed AIBoM
  // made since model signatures exist names the root, so neither it nor the SPDX export (made since the same
  // version) can be stripped from a newer model; a model published before them (its signed AIBoM names no root)
  // has neither, and is told so instead of failing.
  const named = bom ? aibomModelSignatureRoot(bom.content!.doc) : undefined;
  const older = !!bom && named === undefined;
  if (older && !modelSig)
    warn('model signature present', 'none: published before model signatures (its AIBoM names none)');
  else if (
    check(
      'model signature present',
      !!modelSig,
      `no valid OpenSSF model signature${whyNot(verdicts, ['model-signature'], MediaType.sigstoreBundle)}`,
    ) &&
    bom
  ) {
    const root = `sha256:${modelSig!.content!.statement!.subject[0]?.digest?.sha256}`;
    check(
      'AIBoM names the model signature',
      named === root,
      `the AIBoM names ${named ?? 'no root digest'}, the model signature ${root}`,
    );
  }

  // SPDX 3.0.1 export (a signed statement about this digest), stating the same datasets as the AIBoM.
  if (older && !spdx)
    warn('SPDX 3.0.1 export present', 'none: published before SPDX exports (its AIBoM names no model signature)');
  else if (
    check(
      'SPDX 3.0.1 export present',
      !!spdx,
      `no valid SPDX 3.0.1 DSSE attestation${whyNot(verdicts, ['spdx'], MediaType.sigstoreBundle)}`,
    ) &&
    bom
  ) {
    const [a, b] = [cdxDatasetDigests(bom.content!.doc), spdxDatasetDigests(spdx!.content!.statement!.predicate)];
    check('SPDX datasets = AIBoM datasets', jcs(a) === jcs(b), `AIBoM ${a.join(',')}; SPDX ${b.join(',')}`);
  }

  // Facts for a verifier's policies (eval-policy.ts), from verified evidence only: the job kind (the link's signed
  // step) and the evaluation whose data are the link's materials.
  const linkDoc = link?.content?.doc as Link | undefined;
  const evaluation = judgeEvaluation(verdicts, linkDoc?.signed.materials);
  if (evaluation.check) checks.push(evaluation.check);
  const jobKind = linkDoc ? jobKindOf(linkDoc) : undefined;
  const facts = {
    ...(jobKind ? { job_kind: jobKind } : {}),
    ...(evaluation.metrics ? { evaluation: evaluation.metrics } : {}),
  };

  // cosign's manifest signature (legacy `.sig` tag): payload names this digest, signature by a trusted signer key.
  const sig = await checkCosignSignature(p, repo, digest, keys.signers);
  if (check('cosign signature present', !!sig.digest, sig.reason))
    check(`cosign signature${sig.verified ? by(sig) : ''}`, sig.verified, sig.reason);

  // Whatever else is attached counts for nothing and fails nothing: listed, so a reader sees it is there.
  const used = new Set([link, bom, bomSig, slsa, modelSig, spdx, evaluation.used].filter(Boolean));
  for (const v of verdicts) {
    if (used.has(v)) continue;
    const why = v.verified
      ? v.kind === 'sigstore-bundle'
        ? `a statement of type ${v.content?.statement?.predicateType} the chain does not use`
        : `another verified ${v.kind} was counted`
      : v.reason;
    warn(`attachment ${v.digest}`, `not counted: ${v.artifactType ?? 'unknown type'}: ${why}`);
  }
  // Completeness of the counted AIBoM, recomputed here with this verifier's rubric (score.ts).
  const completeness = bom ? scoreAibom(bom.content!.doc) : undefined;
  return {
    ref,
    digest,
    verified: checks.every((c) => c.passed),
    checks,
    facts,
    ...(completeness ? { completeness } : {}),
  };
}

export function createVerifier(p: OciTarget, keys: () => Promise<TrustKeys>): ModelVerifier {
  return { verify: async (ref) => verifyModel(p, ref, await keys()) };
}
