import { sign, type KeyObject } from 'node:crypto';
import { MediaType } from '../../schema/media-types.ts';
import { digestOf } from '../oci/digest.ts';
import type { OciDescriptor as Descriptor, OciTarget } from '../oci/target.ts';

/** cosign's simple-signing payload type and signature annotation (the legacy `.sig` tag layout). */
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const COSIGN_SIG_ANNOTATION = 'dev.cosignproject.cosign/signature';

/**
 * Signs the model manifest the way `cosign sign --key` stores it under the `sha256-<hex>.sig` tag, which every
 * cosign version reads for `cosign verify --key`: a simple-signing payload naming the manifest digest, signed
 * with the platform key (DER ECDSA over the payload bytes).
 */
export async function pushCosignSignature(
  p: OciTarget,
  repo: string,
  dockerReference: string,
  manifestDigest: string,
  key: KeyObject,
): Promise<Descriptor> {
  const payload = Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
  const sig = sign('sha256', payload, key).toString('base64');
  const layer = await p.pushBlob(repo, payload, SIMPLE_SIGNING, { [COSIGN_SIG_ANNOTATION]: sig });
  const cfg = Buffer.from(
    JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }),
  );
  const config = await p.pushBlob(repo, cfg, MediaType.ociConfig);
  const m = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
  );
  await p.pushManifest(repo, `${manifestDigest.replace(':', '-')}.sig`, m);
  return { mediaType: MediaType.ociManifest, digest: digestOf(m), size: m.byteLength };
}
