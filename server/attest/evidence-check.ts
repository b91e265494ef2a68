/**
 * One attached piece of evidence judged on its own: it counts ("verified") only when its signature verifies with
 * a key of the trusted set (signers.ts: the platform key, approved worker keys) AND it is about the model it is
 * attached to; the verdict names the key that verified. Everything that reads evidence — the
 * verifier, the lineage index (and so GraphQL and the dashboard), `aibomgen bom show` — decides with this, so
 * nothing shows an attestation's content that this did not accept. Never throws: any shape is a reason.
 */
import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { bundleFromJSON, bundleToJSON } from '@sigstore/bundle';
import { MediaType } from '../../schema/media-types.ts';
import { InTotoLinkDocument } from '../../schema/verification.ts';
import type { OciTarget } from '../oci/target.ts';
import { type BomJson, jcs, verifyAibomSignature } from './aibom.ts';
import { COSIGN_SIG_ANNOTATION, SIMPLE_SIGNING } from './cosign-sig.ts';
import { keyHint, PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1, type Statement, verifyStatementBundle } from './dsse.ts';
import { type Link, verifyLinkSignature } from './link.ts';
import { modelSignatureProblem, PREDICATE_MODEL_SIGNING } from './model-signature.ts';
import { firstVerifying, notTrusted, type TrustedSigner, trustedSigners } from './signers.ts';
import { PREDICATE_SPDX_3 } from './spdx.ts';
import {
  canonicalBase64,
  parseCanonicalJson,
  parseEvidenceManifest,
  parseJson,
  parseSignatureManifest,
  readManifest,
  readSmallBlob,
} from './oci-read.ts';

export type EvidenceKind =
  | 'in-toto-link'
  | 'aibom'
  | 'aibom-signature'
  | 'slsa-provenance'
  | 'model-signature'
  | 'spdx'
  | 'sigstore-bundle'
  | 'cosign-signature'
  | 'other';

/** The model manifest evidence must be about. `files`: `outputs/<title>` → sha256 hex of its titled layers. */
export interface EvidenceSubject {
  digest: string;
  mediaType: string;
  size: number;
  files: Record<string, string>;
}

export interface EvidenceVerdict {
  /** The referrer (or `.sig`) manifest's digest. */
  digest: string;
  artifactType: string | null;
  kind: EvidenceKind;
  verified: boolean;
  /** Why it does not count (set when not verified). */
  reason?: string;
  /** The key id the document names for its signer: written by whoever pushed it, so never trusted. */
  signerHint: string | null;
  /** The id (sha256 of its SPKI DER) of the trusted key that verified it, set only when verified. */
  signerKeyId: string | null;
  /** The document, set only when verified: there is no way to read an unverified one's content from here. */
  content?: { bytes: Buffer; doc: unknown; layerDigest: string; statement?: Statement };
}

export const SIGSTORE_BUNDLE_V03 = MediaType.sigstoreBundle;
const EVIDENCE_TYPES: readonly string[] = [MediaType.inTotoLink, MediaType.cyclonedxJson, SIGSTORE_BUNDLE_V03];
const EMPTY = {
  mediaType: MediaType.ociEmpty,
  digest: `sha256:${createHash('sha256').update('{}').digest('hex')}`,
  size: 2,
};

function kindOf(artifactType: string | null): EvidenceKind {
  if (artifactType === MediaType.inTotoLink) return 'in-toto-link';
  if (artifactType === MediaType.cyclonedxJson) return 'aibom';
  if (artifactType?.startsWith('application/vnd.dev.sigstore.bundle')) return 'sigstore-bundle';
  return 'other';
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const keysAre = (o: Record<string, unknown>, allowed: readonly string[]): boolean =>
  Object.keys(o).every((k) => allowed.includes(k));
const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 300);

/** sha256 of a JSF public key's SPKI (the hint an AIBoM carries), or null when it is not a key. */
function jwkHint(jwk: unknown): string | null {
  try {
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    return keyHint(pem.toString());
  } catch {
    return null;
  }
}

/**
 * An AIBoM's JSF signature against the set: it embeds its key (`hint`), so only that key of the set can verify it
 * (each is tried when the embedded key is unreadable). The signer, or why none.
 */
export function aibomSigner(
  doc: BomJson,
  set: readonly TrustedSigner[],
): { hint: string | null; signer?: TrustedSigner; reason?: string } {
  const hint = jwkHint(doc.signature?.publicKey);
  const named = hint ? set.filter((k) => k.keyId === hint) : set;
  if (hint && named.length === 0) return { hint, reason: notTrusted(hint) };
  let why = 'AIBoM signature does not verify';
  const { signer, error } = firstVerifying(named, (k) => {
    const r = verifyAibomSignature(doc, k.pem);
    if (r.reason) why = r.reason;
    return r.ok;
  });
  return signer ? { hint, signer } : { hint, reason: error ? `AIBoM signature unreadable: ${msg(error)}` : why };
}

interface Judged {
  kind: EvidenceKind;
  hint: string | null;
  reason?: string;
  statement?: Statement;
  /** The key of the set whose signature verified (none: it does not count). */
  signer?: TrustedSigner;
}

function judgeLink(doc: unknown, set: readonly TrustedSigner[], subject: EvidenceSubject): Judged {
  const base: Judged = { kind: 'in-toto-link', hint: null };
  if (!isObj(doc) || !keysAre(doc, ['signatures', 'signed'])) return { ...base, reason: 'not an in-toto link' };
  const sigs = Array.isArray(doc.signatures) ? doc.signatures : [];
  const hint = isObj(sigs[0]) && typeof sigs[0].keyid === 'string' ? sigs[0].keyid : null;
  const parsed = InTotoLinkDocument.safeParse(doc);
  if (!parsed.success) return { ...base, hint, reason: `not an in-toto link: ${parsed.error.issues[0]?.message}` };
  // One signature, by a trusted key, in canonical hex: nothing in the file is left unsigned or unchecked.
  const s = parsed.data.signatures;
  if (s.length !== 1 || !isObj(sigs[0]) || !keysAre(sigs[0], ['keyid', 'sig']) || s[0]!.sig.length % 2)
    return { ...base, hint, reason: 'the link must carry exactly one signature {keyid, sig}' };
  // The signature names its key by an in-toto key id; only a key with that id can verify it.
  const keyid = s[0]!.keyid;
  const named = set.filter((k) => k.inToto.legacy === keyid || k.inToto.modern === keyid);
  if (named.length === 0) return { ...base, hint, reason: notTrusted(keyid) };
  // The document as it is (zod's parse drops unknown fields: the signature must cover them too).
  const { signer } = firstVerifying(named, (k) => verifyLinkSignature(doc as unknown as Link, k.pem));
  if (!signer) return { ...base, hint, reason: `in-toto link signature does not verify with key ${keyid}` };
  const products = parsed.data.signed.products;
  const outputs = Object.keys(products).filter((k) => k.startsWith('outputs/'));
  const same =
    outputs.length === Object.keys(subject.files).length &&
    outputs.every((k) => subject.files[k] === products[k]?.sha256);
  return same ? { ...base, hint, signer } : { ...base, hint, reason: 'the link is about other files (another model)' };
}

/** `pkg:oci/<name>@<digest>?…` → the digest. */
function purlDigest(purl: unknown): string | undefined {
  const m = typeof purl === 'string' ? /^pkg:oci\/[^@?#]+@([^?#]+)/.exec(purl) : null;
  try {
    return m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    return undefined;
  }
}

function judgeAibom(doc: unknown, set: readonly TrustedSigner[], subject: EvidenceSubject): Judged {
  const base: Judged = { kind: 'aibom', hint: null };
  if (!isObj(doc) || doc.bomFormat !== 'CycloneDX') return { ...base, reason: 'not a CycloneDX document' };
  const sig = doc.signature;
  if (!isObj(sig)) return { ...base, reason: 'AIBoM carries no JSF signature' };
  const hint = jwkHint(sig.publicKey);
  if (!keysAre(sig, ['algorithm', 'publicKey', 'value']) || sig.algorithm !== 'ES256')
    return { ...base, hint, reason: 'AIBoM signature is not an ES256 JSF signature' };
  if (canonicalBase64(sig.value, true)?.length !== 64)
    return { ...base, hint, reason: 'AIBoM signature value is not a canonical base64url P-256 signature' };
  const { signer, reason } = aibomSigner(doc as BomJson, set);
  if (!signer) return { ...base, hint, reason };
  const about = purlDigest((doc.metadata as { component?: { purl?: unknown } } | undefined)?.component?.purl);
  return about === subject.digest
    ? { ...base, hint, signer }
    : { ...base, hint, reason: `the AIBoM describes ${about ?? 'no OCI manifest'}, not ${subject.digest}` };
}

function judgeBundle(doc: unknown, set: readonly TrustedSigner[], subject: EvidenceSubject): Judged {
  const base: Judged = { kind: 'sigstore-bundle', hint: null };
  if (!isObj(doc)) return { ...base, reason: 'not a sigstore bundle' };
  const vm = doc.verificationMaterial as { publicKey?: { hint?: unknown } } | undefined;
  const hint = typeof vm?.publicKey?.hint === 'string' && vm.publicKey.hint ? vm.publicKey.hint : null;
  // The parts an empty value may be left out of are required as the publisher writes them, so that no two
  // byte forms of one bundle both count.
  if (!isObj(vm) || !isObj(vm.publicKey) || !isObj((vm as Record<string, unknown>).timestampVerificationData))
    return { ...base, hint, reason: 'not a key-signed bundle as the platform writes it (verification material)' };
  if (doc.mediaType !== SIGSTORE_BUNDLE_V03)
    return { ...base, hint, reason: `bundle media type ${String(doc.mediaType)}` };
  // The bundle's unsigned key names must be empty or one trusted key's: a bundle naming another signer is not ours.
  const env = doc.dsseEnvelope as { signatures?: { keyid?: unknown }[] } | undefined;
  const named = [vm?.publicKey?.hint, ...(Array.isArray(env?.signatures) ? env.signatures.map((x) => x?.keyid) : [])];
  if (!Array.isArray(env?.signatures) || env.signatures.length !== 1)
    return { ...base, hint, reason: 'the DSSE envelope must carry exactly one signature' };
  // model-signing names the key by the SHA-256 of its PEM text, cosign by that of its DER (the platform writes an
  // empty hint, which cosign needs): each key of the set is tried when nothing names one.
  const names = named.filter((k) => k !== undefined && k !== '');
  const candidates = set.filter((k) => names.every((n) => n === k.keyId || n === k.modelSigning));
  if (candidates.length === 0)
    return { ...base, hint, reason: notTrusted(typeof names[0] === 'string' ? names[0] : String(names[0])) };
  try {
    // Fields the bundle format does not have, or non-canonical encodings, would survive a lenient parse.
    if (jcs(bundleToJSON(bundleFromJSON(doc))) !== jcs(doc))
      throw new Error('bundle has fields or encodings the format does not');
  } catch (e) {
    return { ...base, hint, reason: `DSSE: ${msg(e)}` };
  }
  const { signer, value: st, error } = firstVerifying(candidates, (k) => verifyStatementBundle(doc, k.pem));
  if (!signer || !st) {
    const tried = names.length ? '' : ` (no key named; ${candidates.length} trusted key(s) tried)`;
    return { ...base, hint, reason: `DSSE: ${msg(error ?? 'does not verify')}${tried}` };
  }
  const kind: EvidenceKind =
    st.predicateType === PREDICATE_CYCLONEDX
      ? 'aibom-signature'
      : st.predicateType === PREDICATE_SLSA_V1
        ? 'slsa-provenance'
        : st.predicateType === PREDICATE_MODEL_SIGNING
          ? 'model-signature'
          : st.predicateType === PREDICATE_SPDX_3
            ? 'spdx'
            : 'sigstore-bundle';
  // A model signature's subject is the model's root digest over its files, not the manifest: judged by the files.
  // One byte form per kind: a model signature names the key by model-signing's hint (bundle and DSSE signature),
  // every other bundle never does (else re-wrapping the same signed content would count twice).
  const msHint = signer.modelSigning;
  const withMsHint = named.filter((k) => k === msHint).length;
  if (kind === 'model-signature' ? withMsHint !== 2 : withMsHint !== 0)
    return { kind, hint, reason: 'the bundle does not name the signer key as the platform writes it' };
  if (kind === 'model-signature') {
    const pulled = Object.fromEntries(Object.entries(subject.files).map(([k, v]) => [k.replace(/^outputs\//, ''), v]));
    const problem = modelSignatureProblem(st, pulled);
    return problem ? { kind, hint, reason: problem } : { kind, hint, statement: st, signer };
  }
  const subjects = Array.isArray(st.subject) ? st.subject : [];
  const about = subjects.some(
    (s) => isObj(s) && `sha256:${(s.digest as { sha256?: unknown })?.sha256}` === subject.digest,
  );
  if (!about)
    return {
      kind,
      hint,
      reason: `statement subject ${subjects.map((s) => String(s?.digest?.sha256)).join(',')} is not this manifest ${subject.digest} (replayed attestation)`,
    };
  return { kind, hint, statement: st, signer };
}

/**
 * Judges the referrer `digest` of `subject` in `repo` with the trusted signer keys (`signers`, PEMs; none: nothing
 * counts); a verified verdict names the key that verified it (`signerKeyId`).
 * Strict about shape: the manifest as the publisher writes it, one layer of the artifact's own type, the blob
 * within MAX_EVIDENCE_BYTES, hashing to its digest, JSON in the platform's form, then the signature and the subject.
 */
export async function checkEvidence(
  t: OciTarget,
  repo: string,
  subject: EvidenceSubject,
  digest: string,
  signers: readonly string[],
): Promise<EvidenceVerdict> {
  const v = (artifactType: string | null, j: Judged, content?: EvidenceVerdict['content']): EvidenceVerdict => {
    // Counted only with a signer: a judge that forgot to name one counts nothing.
    const ok = !j.reason && !!content && !!j.signer;
    return {
      digest,
      artifactType,
      kind: j.kind,
      verified: ok,
      ...(ok ? {} : { reason: j.reason ?? 'no trusted key verified it' }),
      signerHint: j.hint,
      signerKeyId: ok ? j.signer!.keyId : null,
      ...(ok ? { content } : {}),
    };
  };
  try {
    const m = await readManifest(t, repo, digest);
    if (!m.ok) return v(null, { kind: 'other', hint: null, reason: m.reason });
    const p = parseEvidenceManifest(m.bytes);
    const loose = parseJson(m.bytes);
    const at = loose.ok && isObj(loose.value) ? loose.value.artifactType : undefined;
    const artifactType = typeof at === 'string' ? at : null;
    const kind = kindOf(artifactType);
    if (!p.ok) return v(artifactType, { kind, hint: null, reason: p.reason });
    const man = p.manifest;
    const layer = man.layers[0]!;
    const shapeProblem =
      man.mediaType !== MediaType.ociManifest
        ? `manifest media type ${man.mediaType}`
        : !EVIDENCE_TYPES.includes(man.artifactType)
          ? `artifact type ${man.artifactType} is not evidence the platform signs`
          : layer.mediaType !== man.artifactType
            ? `layer media type ${layer.mediaType} is not the artifact type ${man.artifactType}`
            : man.config.mediaType !== EMPTY.mediaType || man.config.digest !== EMPTY.digest || man.config.size !== 2
              ? 'config is not the OCI empty descriptor'
              : man.subject.digest !== subject.digest ||
                  man.subject.size !== subject.size ||
                  man.subject.mediaType !== subject.mediaType
                ? `subject ${man.subject.digest} (${man.subject.size} bytes) is not this manifest`
                : undefined;
    if (shapeProblem) return v(artifactType, { kind, hint: null, reason: shapeProblem });
    const blob = await readSmallBlob(t, repo, layer);
    if (!blob.ok) return v(artifactType, { kind, hint: null, reason: blob.reason });
    const doc = parseCanonicalJson(blob.bytes);
    if (!doc.ok) return v(artifactType, { kind, hint: null, reason: `${kind}: ${doc.reason}` });
    const set = trustedSigners(signers);
    if (set.length === 0)
      return v(artifactType, { kind, hint: null, reason: 'no trusted signer key to check it with' });
    const judged =
      kind === 'in-toto-link'
        ? judgeLink(doc.value, set, subject)
        : kind === 'aibom'
          ? judgeAibom(doc.value, set, subject)
          : judgeBundle(doc.value, set, subject);
    return v(artifactType, judged, {
      bytes: blob.bytes,
      doc: doc.value,
      layerDigest: layer.digest,
      ...(judged.statement ? { statement: judged.statement } : {}),
    });
  } catch (e) {
    // Nothing above should throw; should a library do so on some input, that input simply does not count.
    return v(null, { kind: 'other', hint: null, reason: `unreadable: ${msg(e)}` });
  }
}

/**
 * cosign's `.sig` manifest for `subjectDigest`: a simple-signing payload naming it, signed with a trusted signer
 * key (DER ECDSA, canonical base64 annotation; it names no key, so each is tried); the config lists exactly its
 * layers. One such layer suffices.
 */
export async function checkCosignSignature(
  t: OciTarget,
  repo: string,
  subjectDigest: string,
  signers: readonly string[],
): Promise<EvidenceVerdict> {
  const tag = `${subjectDigest.replace(':', '-')}.sig`;
  const out = (digest: string, reason?: string, signer?: TrustedSigner): EvidenceVerdict => ({
    digest,
    artifactType: SIMPLE_SIGNING,
    kind: 'cosign-signature',
    verified: !reason && !!signer,
    ...(reason || !signer ? { reason: reason ?? 'no trusted key verified it' } : {}),
    signerHint: null,
    signerKeyId: !reason && signer ? signer.keyId : null,
  });
  try {
    const m = await readManifest(t, repo, tag);
    if (!m.ok) return out('', /missing/.test(m.reason) ? 'no cosign signature (.sig) for this manifest' : m.reason);
    const p = parseSignatureManifest(m.bytes);
    if (!p.ok) return out(m.digest, p.reason);
    const man = p.manifest;
    if (man.mediaType !== MediaType.ociManifest || man.config.mediaType !== MediaType.ociConfig)
      return out(m.digest, 'not a cosign signature manifest');
    const cfg = await readSmallBlob(t, repo, man.config);
    const cj = cfg.ok ? parseCanonicalJson(cfg.bytes) : cfg;
    const diff = cj.ok ? (cj.value as { rootfs?: { diff_ids?: unknown } })?.rootfs?.diff_ids : undefined;
    if (!cj.ok || jcs(diff) !== jcs(man.layers.map((l) => l.digest)))
      return out(m.digest, `cosign signature config does not list its layers${cj.ok ? '' : `: ${cj.reason}`}`);
    const set = trustedSigners(signers);
    if (set.length === 0) return out(m.digest, 'no trusted signer key to check it with');
    let why = 'no simple-signing layer';
    for (const l of man.layers) {
      if (l.mediaType !== SIMPLE_SIGNING) continue;
      const sig = canonicalBase64(l.annotations?.[COSIGN_SIG_ANNOTATION], false);
      const payload = await readSmallBlob(t, repo, l);
      if (!payload.ok) {
        why = `cosign signature payload altered or missing: ${payload.reason}`;
        continue;
      }
      const { signer } = sig
        ? firstVerifying(set, (k) => cryptoVerify('sha256', payload.bytes, createPublicKey(k.pem), sig))
        : {};
      if (!signer) {
        why = 'cosign signature does not verify with any trusted signer key';
        continue;
      }
      const pj = parseCanonicalJson(payload.bytes);
      const crit = pj.ok
        ? (pj.value as { critical?: { image?: Record<string, unknown>; type?: unknown } })?.critical
        : undefined;
      if (crit?.image?.['docker-manifest-digest'] === subjectDigest && crit.type === 'cosign container image signature')
        return out(m.digest, undefined, signer);
      why = 'cosign signature is for another manifest';
    }
    return out(m.digest, why);
  } catch (e) {
    return out('', `cosign signature unreadable: ${msg(e)}`);
  }
}
