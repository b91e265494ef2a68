import type { OciTarget } from '../oci/target.ts';

/** Reads a small blob whole (configs, AIBoMs, bundles), digest-checked; undefined when missing, over `max` bytes or corrupt. */
export async function readSmallBlob(
  registry: OciTarget,
  repo: string,
  digest: string,
  max: number,
): Promise<Buffer | undefined> {
  try {
    const size = await registry.blobSize(repo, digest);
    if (size === null || size > max) return undefined;
    return Buffer.from(await registry.fetchBlob(repo, digest));
  } catch {
    return undefined;
  }
}

export async function readJsonBlob(registry: OciTarget, repo: string, digest: string, max: number): Promise<unknown> {
  const b = await readSmallBlob(registry, repo, digest, max);
  if (!b) return undefined;
  try {
    return JSON.parse(b.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
