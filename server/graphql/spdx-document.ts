/**
 * The SPDX 3.0.1 document of a version for GraphQL: the predicate of the `spdx` statement the lineage index judged
 * verified (signed by the platform key, about this manifest), read back by digest so the bytes are the ones that
 * verified. Null when none did.
 */
import { MediaType } from '../../schema/media-types.ts';
import { parseCanonicalJson } from '../attest/oci-read.ts';
import { verifiedEvidenceLayers } from '../lineage/trust.ts';
import type { Db } from '../db/connect.ts';
import type { OciTarget } from '../oci/target.ts';

const MAX_BUNDLE = 16 << 20;

export async function verifiedSpdx(db: Db, store: OciTarget, repo: string, digest: string): Promise<unknown> {
  for await (const r of verifiedEvidenceLayers(db, store, repo, digest, 'spdx', MediaType.sigstoreBundle, MAX_BUNDLE)) {
    const bundle = parseCanonicalJson(r.bytes);
    const payload = bundle.ok
      ? (bundle.value as { dsseEnvelope?: { payload?: unknown } }).dsseEnvelope?.payload
      : undefined;
    if (typeof payload !== 'string') continue;
    try {
      return (JSON.parse(Buffer.from(payload, 'base64').toString('utf8')) as { predicate?: unknown }).predicate ?? null;
    } catch {}
  }
  return null;
}
