/**
 * What `bom show` and `bom spdx` share: a model's referrers of one media type, each judged on its own (signature
 * with a trusted signer key, subject = this manifest) — never picked by date or position.
 */
import { MediaType } from '../schema/media-types.ts';
import type { EvidenceVerdict } from '../server/attest/evidence-check.ts';
import { OciClient } from '../server/oci/client.ts';
import type { PlatformClient } from './platform.ts';
import { type ModelRef, RegistryReader } from './registry.ts';

export async function judgedReferrers(
  client: PlatformClient,
  mref: ModelRef,
  signers: string[],
  mediaType: string,
): Promise<{ digest: string; verdicts: EvidenceVerdict[] }> {
  const reader = new RegistryReader(mref, client);
  const { digest, bytes } = await reader.manifest();
  const referrers = await reader.referrers(digest, mediaType);
  // Loaded on demand: the checks pull in the attest modules, slow to load for commands that do not need them.
  const { checkEvidence } = await import('../server/attest/evidence-check.ts');
  const { outputFiles, parseImageManifest } = await import('../server/attest/oci-read.ts');
  const pm = parseImageManifest(bytes);
  const subject = {
    digest,
    mediaType: (pm.ok ? pm.manifest.mediaType : undefined) ?? MediaType.ociManifest,
    size: bytes.byteLength,
    files: pm.ok ? outputFiles(pm.manifest.layers) : {},
  };
  const oci = new OciClient(mref.registry, { headers: mref.onPlatform ? client.headers() : {} });
  const verdicts = await Promise.all(referrers.map((r) => checkEvidence(oci, mref.repo, subject, r.digest, signers)));
  return { digest, verdicts };
}
