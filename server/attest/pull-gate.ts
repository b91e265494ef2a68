import { MediaType } from '../../schema/media-types.ts';
import type { ModelVerifier } from '../contracts.ts';
import { PLATFORM } from '../identity.ts';
import { RegistryError } from '../registry/errors.ts';
import type { StoredManifest } from '../registry/store/port.ts';

/** How long a verified model stays verified for pulls before its evidence is checked again. */
const VERIFIED_TTL_MS = 60_000;
const CACHE_MAX = 1000;

/**
 * The verifying pull (AIBOMGEN_PULL_POLICY=verified): `/v2/` serves a model manifest of the trusted namespace only
 * when its whole chain verifies — signatures, subjects, every blob re-hashed — not merely when a signature exists
 * (what Harbor's content trust checks, harbor#18808). Evidence (manifests with a subject) and indexes stay
 * readable so that anyone can see why a model is refused. Successes are cached per digest for a minute; a
 * refusal is never cached (storage may be repaired).
 */
export function createPullGate(
  verifier: ModelVerifier,
  trustedNamespace: string,
): (repo: string, m: StoredManifest) => Promise<void> {
  const verifiedAt = new Map<string, number>();
  return async (repo, m) => {
    if (!repo.startsWith(`${trustedNamespace}/`) || !isModel(m)) return;
    const key = `${repo}@${m.digest}`;
    const at = verifiedAt.get(key);
    if (at !== undefined && Date.now() - at < VERIFIED_TTL_MS) return;
    const report = await verifier.verify(key, PLATFORM);
    if (!report.verified) {
      verifiedAt.delete(key);
      const failed = report.checks.filter((c) => !c.passed).map((c) => `${c.name}${c.reason ? `: ${c.reason}` : ''}`);
      throw new RegistryError(
        'DENIED',
        `pull refused by the verified-pull policy: ${key} does not verify (${failed.slice(0, 3).join('; ')})`,
      );
    }
    if (verifiedAt.size >= CACHE_MAX) verifiedAt.delete(verifiedAt.keys().next().value as string);
    verifiedAt.set(key, Date.now());
  };
}

/** A model version's manifest: an image manifest with no subject (not evidence, not a cosign `.sig`). */
function isModel(m: StoredManifest): boolean {
  if (m.mediaType !== MediaType.ociManifest && m.mediaType !== 'application/vnd.docker.distribution.manifest.v2+json')
    return false;
  try {
    const doc = JSON.parse(Buffer.from(m.bytes).toString('utf8')) as {
      subject?: unknown;
      config?: { mediaType?: string };
    };
    return !doc.subject && doc.config?.mediaType !== MediaType.ociConfig;
  } catch {
    return false;
  }
}
