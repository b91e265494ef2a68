import { MediaType } from '../../schema/media-types.ts';
import { fallbackTag } from './digest.ts';
import type { OciDescriptor, OciTarget } from './target.ts';

/**
 * Adds descriptors to the `sha256-<hex>` fallback tag index of `subjectDigest` (read-modify-write, so one
 * writer per subject: the publisher of a new model). Registries without a referrers API are read this way.
 */
export async function addToFallbackIndex(
  target: OciTarget,
  repo: string,
  subjectDigest: string,
  add: OciDescriptor[],
): Promise<void> {
  const tag = fallbackTag(subjectDigest);
  const cur = await target.getManifest(repo, tag);
  const manifests: OciDescriptor[] = cur
    ? ((JSON.parse(Buffer.from(cur.bytes).toString('utf8')) as { manifests?: OciDescriptor[] }).manifests ?? [])
    : [];
  for (const d of add) if (!manifests.some((m) => m.digest === d.digest)) manifests.push(d);
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests };
  await target.pushManifest(repo, tag, Buffer.from(JSON.stringify(index)), MediaType.ociIndex);
}
