import { createHash, createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { MediaType, Annotation } from '../../schema/media-types.ts';
import { parseReference } from '../../schema/reference.ts';
import type { ModelVerifier, VerificationCheck, VerificationReport } from '../contracts.ts';
import { COSIGN_SIG_ANNOTATION, SIMPLE_SIGNING } from './cosign-sig.ts';
import { jcs, verifyAibomSignature, type BomJson } from './aibom.ts';
import { PREDICATE_CYCLONEDX, PREDICATE_SLSA_V1, verifyStatementBundle } from './dsse.ts';
import { verifyLayoutAndLink } from './intoto-verify.ts';
import type { Layout } from './layout.ts';
import { verifyLinkSignature, type Link } from './link.ts';
import { digestOf } from '../oci/digest.ts';
import type { OciDescriptor as Descriptor, OciTarget } from '../oci/target.ts';

export interface TrustKeys {
  platformPem: string;
  layout?: Layout;
  rootPem?: string;
}

interface Manifest {
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  artifactType?: string;
}

function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * The full chain with public keys only: manifest digest, every blob's hash, the link's signature and layout
 * rules, link products = pulled files, the AIBoM's JSF signature and its binding to this manifest, and every
 * DSSE statement's signature and subject (a replay of another model's attestation fails here).
 */
export async function verifyModel(p: OciTarget, ref: string, keys: TrustKeys): Promise<VerificationReport> {
  const checks: VerificationCheck[] = [];
  const check = (name: string, passed: boolean, reason?: string): boolean => {
    checks.push({ name, passed, ...(passed || !reason ? {} : { reason }) });
    return passed;
  };
  const { repo, reference } = parseReference(ref);
  const got = await p.getManifest(repo, reference, { verify: false }).catch((e: unknown) => {
    check('manifest', false, String(e));
    return undefined;
  });
  if (!got) {
    if (checks.length === 0) check('manifest', false, `${repo}:${reference} not found`);
    return { ref, verified: false, checks };
  }
  const digest = digestOf(got.bytes);
  if (reference.startsWith('sha256:'))
    check('manifest digest', digest === reference, `manifest bytes hash to ${digest}, not ${reference}`);
  let m: Manifest;
  try {
    m = JSON.parse(Buffer.from(got.bytes).toString('utf8')) as Manifest;
  } catch {
    check('manifest', false, 'manifest is not JSON');
    return { ref, digest, verified: false, checks };
  }
  check(
    'model artifact type',
    m.artifactType === MediaType.modelManifestArtifact,
    `artifactType ${m.artifactType ?? '(none)'}`,
  );

  // Every blob the manifest names must hash to its digest.
  const files: Record<string, string> = {};
  for (const d of [m.config, ...m.layers]) {
    const bytes = await p.fetchBlob(repo, d.digest, { verify: false }).catch(() => undefined);
    const what = d.annotations?.[Annotation.title] ?? (d === m.config ? 'config' : d.digest);
    if (!bytes) {
      check(`blob ${what}`, false, `blob ${d.digest} missing`);
      continue;
    }
    const actual = `sha256:${sha256Hex(bytes)}`;
    check(
      `blob ${what}`,
      actual === d.digest && bytes.byteLength === d.size,
      `${what}: content hashes to ${actual}, manifest says ${d.digest}`,
    );
    if (d !== m.config && d.annotations?.[Annotation.title])
      files[`outputs/${d.annotations[Annotation.title]}`] = actual.slice(7);
  }

  // Referrers: each fetched, its subject must be this manifest.
  const refs = await p.referrers(repo, digest);
  const evidence: { artifactType: string; bytes: Uint8Array; annotations: Record<string, string> }[] = [];
  for (const r of refs) {
    const rm = await p.getManifest(repo, r.digest, { verify: false });
    if (!rm || digestOf(rm.bytes) !== r.digest) {
      check(`referrer ${r.digest}`, false, `referrer manifest ${r.digest} missing or altered`);
      continue;
    }
    const man = JSON.parse(Buffer.from(rm.bytes).toString('utf8')) as Manifest & {
      annotations?: Record<string, string>;
    };
    if (man.subject?.digest !== digest) {
      check(`referrer ${r.digest}`, false, `referrer ${r.digest} is about ${man.subject?.digest}, not ${digest}`);
      continue;
    }
    const layer = man.layers[0];
    if (!layer) continue;
    const bytes = await p.fetchBlob(repo, layer.digest, { verify: false });
    if (`sha256:${sha256Hex(bytes)}` !== layer.digest) {
      check(`referrer ${man.artifactType}`, false, `${man.artifactType} blob altered (hash mismatch)`);
      continue;
    }
    evidence.push({ artifactType: man.artifactType ?? layer.mediaType, bytes, annotations: man.annotations ?? {} });
  }

  // in-toto link.
  const linkEv = evidence.find((e) => e.artifactType === MediaType.inTotoLink);
  let linkSha = '';
  if (check('in-toto link present', !!linkEv, 'no in-toto link referrer') && linkEv) {
    linkSha = sha256Hex(linkEv.bytes);
    let link: Link | undefined;
    try {
      link = JSON.parse(Buffer.from(linkEv.bytes).toString('utf8')) as Link;
    } catch {
      check('in-toto link signature', false, 'link is not JSON');
    }
    if (link) {
      check(
        'in-toto link signature',
        verifyLinkSignature(link, keys.platformPem),
        'in-toto link signature does not verify with the platform key',
      );
      if (keys.layout && keys.rootPem) {
        const v = verifyLayoutAndLink({ layout: keys.layout, rootPem: keys.rootPem, link });
        for (const c of v.checks) checks.push({ ...c, name: `in-toto ${c.name}` });
      }
      const products = link.signed.products ?? {};
      const mism = Object.entries(files)
        .filter(([k, h]) => products[k]?.sha256 !== h)
        .map(([k]) => k);
      const missing = Object.keys(products).filter((k) => k.startsWith('outputs/') && !(k in files));
      check(
        'link products = pulled files',
        mism.length === 0 && missing.length === 0,
        `${mism.length ? `files differ from the link: ${mism.join(', ')}` : ''}${missing.length ? ` link products not in the model: ${missing.join(', ')}` : ''}`.trim(),
      );
    }
  }

  // AIBoM with JSF signature, bound to this manifest and this link.
  const bomEv = evidence.find((e) => e.artifactType === MediaType.cyclonedxJson);
  let bom: BomJson | undefined;
  if (check('AIBoM present', !!bomEv, 'no AIBoM referrer') && bomEv) {
    try {
      bom = JSON.parse(Buffer.from(bomEv.bytes).toString('utf8')) as BomJson;
    } catch {
      check('AIBoM signature', false, 'AIBoM is not JSON');
    }
    if (bom) {
      const s = verifyAibomSignature(bom, keys.platformPem);
      check('AIBoM signature', s.ok, s.reason);
      const purl = String((bom.metadata as { component?: { purl?: string } } | undefined)?.component?.purl ?? '');
      check(
        'AIBoM names this manifest',
        purl.includes(encodeURIComponent(digest)),
        `AIBoM purl ${purl} does not name ${digest}`,
      );
      check(
        'AIBoM references this link',
        !linkSha || JSON.stringify(bom).includes(`urn:in-toto:link:sha256:${linkSha}`),
        'AIBoM refers to another in-toto link',
      );
    }
  }

  // DSSE statements (cosign-style bundles).
  const bundles = evidence.filter((e) => e.artifactType === MediaType.sigstoreBundle);
  const seen = new Set<string>();
  for (const b of bundles) {
    const type = b.annotations['dev.sigstore.bundle.predicateType'] ?? 'unknown';
    try {
      const st = verifyStatementBundle(JSON.parse(Buffer.from(b.bytes).toString('utf8')), keys.platformPem);
      check(`DSSE ${st.predicateType} signature`, true);
      check(
        `DSSE ${st.predicateType} subject`,
        st.subject.some((s) => `sha256:${s.digest.sha256}` === digest),
        `statement subject ${st.subject.map((s) => s.digest.sha256).join(',')} is not this manifest ${digest} (replayed attestation)`,
      );
      if (st.predicateType === PREDICATE_CYCLONEDX && bom)
        check(
          'DSSE AIBoM = attached AIBoM',
          jcs(st.predicate) === jcs(bom),
          'the signed AIBoM statement differs from the attached AIBoM',
        );
      seen.add(st.predicateType);
    } catch (e) {
      check(`DSSE ${type} signature`, false, `DSSE ${type}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  check('CycloneDX attestation present', seen.has(PREDICATE_CYCLONEDX), 'no valid CycloneDX DSSE attestation');
  check('SLSA provenance present', seen.has(PREDICATE_SLSA_V1), 'no valid SLSA provenance DSSE attestation');

  // cosign's manifest signature (legacy `.sig` tag): payload names this digest, signature by the platform key.
  const sigMan = await p.getManifest(repo, `${digest.replace(':', '-')}.sig`, { verify: false }).catch(() => undefined);
  if (check('cosign signature present', !!sigMan, 'no cosign signature (.sig) for this manifest') && sigMan) {
    const sm = JSON.parse(Buffer.from(sigMan.bytes).toString('utf8')) as Manifest;
    const l = sm.layers.find((x) => x.mediaType === SIMPLE_SIGNING);
    const payload = l ? await p.fetchBlob(repo, l.digest, { verify: false }).catch(() => undefined) : undefined;
    const sig = l?.annotations?.[COSIGN_SIG_ANNOTATION] ?? '';
    const okHash = !!payload && !!l && `sha256:${sha256Hex(payload)}` === l.digest;
    const okSig = okHash && verifyDer(keys.platformPem, payload, sig);
    let names = false;
    try {
      names =
        okHash &&
        (
          JSON.parse(Buffer.from(payload).toString('utf8')) as {
            critical?: { image?: { 'docker-manifest-digest'?: string } };
          }
        ).critical?.image?.['docker-manifest-digest'] === digest;
    } catch {
      names = false;
    }
    check(
      'cosign signature',
      okSig && names,
      !okHash
        ? 'cosign signature payload altered or missing'
        : !okSig
          ? 'cosign signature does not verify with the platform key'
          : 'cosign signature is for another manifest',
    );
  }

  return { ref, digest, verified: checks.every((c) => c.passed), checks };
}

function verifyDer(pem: string, data: Uint8Array | undefined, b64: string): boolean {
  if (!data) return false;
  try {
    return cryptoVerify('sha256', data, createPublicKey(pem), Buffer.from(b64, 'base64'));
  } catch {
    return false;
  }
}

export function createVerifier(p: OciTarget, keys: () => Promise<TrustKeys>): ModelVerifier {
  return { verify: async (ref) => verifyModel(p, ref, await keys()) };
}
