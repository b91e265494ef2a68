import { sql, type RawBuilder } from 'kysely';
import { MediaType } from '../../schema/media-types.ts';
import { parseReference } from '../../schema/reference.ts';
import type { ManifestKind } from '../../schema/db/lineage.ts';
import type { Descriptor as OciDescriptor } from '../../schema/oci.ts';

/** The parts of an OCI manifest (or index) the lineage index reads. */
export interface ParsedManifest {
  mediaType?: string;
  artifactType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}
/** A descriptor as an untrusted manifest may hold it: any field may be missing. */
export type Descriptor = Partial<OciDescriptor>;

const COSIGN_SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
const WEIGHT_FILE = /\.(keras|h5|hdf5|bin|safetensors|onnx|pt|pth|ckpt|gguf|tflite|pb|pkl|joblib)$/i;

export function parseManifest(bytes: Uint8Array): ParsedManifest | undefined {
  try {
    const m = JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
    return m && typeof m === 'object' && !Array.isArray(m) ? (m as ParsedManifest) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How the index treats a manifest: evidence (anything with a subject), indexes and cosign `.sig` manifests
 * are not model versions; the publisher's input artifacts live under `datasets/` and `base-models/`.
 * Everything else, including a plain `oras push`, is a model version.
 */
export function classify(repo: string, mediaType: string, m: ParsedManifest): ManifestKind {
  if (m.manifests || mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList) return 'index';
  if (m.subject?.digest) return 'referrer';
  if ((m.layers ?? []).some((l) => l.mediaType === COSIGN_SIMPLE_SIGNING)) return 'signature';
  if (m.artifactType === MediaType.modelDatasetRaw || repo.startsWith('datasets/')) return 'dataset';
  if (repo.startsWith('base-models/')) return 'base-model';
  return 'model';
}

/** A layer that holds model weights: a ModelPack weight type (not its config) or a weight file name. */
export function isWeightLayer(l: Descriptor): boolean {
  const t = l.mediaType ?? '';
  if (t.startsWith('application/vnd.cncf.model.weight.') && !t.startsWith('application/vnd.cncf.model.weight.config'))
    return true;
  const title = l.annotations?.['org.opencontainers.image.title'] ?? l.annotations?.['org.cncf.model.filepath'] ?? '';
  return WEIGHT_FILE.test(title);
}

/** `repo@sha256:…` (optionally `host/repo@…`) → its parts; the registry host is dropped. */
export function parseDigestRef(value: string): { repo?: string; digest: string } | undefined {
  const v = value.trim();
  const at = v.lastIndexOf('@');
  const digest = at >= 0 ? v.slice(at + 1) : v;
  if (!/^sha(256|512):[a-f0-9]{32,128}$/.test(digest)) return undefined;
  const repo = at > 0 ? stripHost(v.slice(0, at)) : undefined;
  return repo ? { repo, digest } : { digest };
}

/** `host:port/a/b:tag` → `a/b` (drops a registry host and a tag). */
export function stripHost(name: string): string {
  return parseReference(name).repo;
}

/**
 * Tags that carry evidence (referrers fallback index `sha256-<hex>`, cosign `.sig`/`.att`), not versions or
 * aliases: every tag starting `sha256-` or `sha512-` is reserved for them. A prefix (not a full pattern) so that
 * SQL can apply the same rule (`primaryTagSql`).
 */
export function isEvidenceTag(tag: string): boolean {
  return tag.startsWith('sha256-') || tag.startsWith('sha512-');
}

/**
 * The tag a version was pushed under — its oldest tag that is not an evidence tag (ties by name) — as SQL over a
 * version's repository and digest (column references or values); found through the lineage_tags (repo, digest)
 * index. `isEvidenceTag` in SQL: GLOB and LIKE differ between SQLite and Postgres, substr does not.
 */
export const primaryTagSql = (repo: RawBuilder<unknown>, digest: RawBuilder<unknown>): RawBuilder<string | null> =>
  sql<string | null>`(select t.tag from lineage_tags t where t.repo = ${repo} and t.digest = ${digest}
    and substr(t.tag, 1, 7) not in ('sha256-', 'sha512-') order by t.created_at, t.tag limit 1)`;
