/**
 * What the evidence tests (verify-*.test.ts, evidence-shown.test.ts) share: the genuine pieces of a published
 * model read back from the registry, and attaching a referrer the way the publisher does (one layer, a subject).
 */
import { MediaType } from '../../schema/media-types.ts';
import { digestOf } from '../../server/oci/digest.ts';
import type { OciDescriptor, OciTarget } from '../../server/oci/target.ts';

export const EMPTY_CONFIG: OciDescriptor = {
  mediaType: MediaType.ociEmpty,
  digest: digestOf(Buffer.from('{}')),
  size: 2,
};

export interface Genuine {
  repo: string;
  /** The model manifest. */
  model: { digest: string; bytes: Buffer; json: Record<string, unknown> };
  /** Each genuine referrer by kind: its manifest (bytes and JSON) and its one layer's blob. */
  refs: Record<
    'in-toto-link' | 'aibom' | 'aibom-signature' | 'slsa-provenance' | 'model-signature' | 'spdx',
    { digest: string; manifest: Buffer; json: Record<string, unknown>; blob: Buffer; layer: OciDescriptor }
  >;
  /** The cosign `.sig` manifest and its payload and config blobs. */
  sig: { tag: string; manifest: Buffer; json: Record<string, unknown>; payload: Buffer; config: Buffer };
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Reads every genuine piece of a publication back from the registry. */
export async function readGenuine(
  t: OciTarget,
  repo: string,
  digest: string,
  attestations: { kind: string; digest: string }[],
): Promise<Genuine> {
  const m = (await t.getManifest(repo, digest))!;
  const refs = {} as Genuine['refs'];
  for (const kind of [
    'in-toto-link',
    'aibom',
    'aibom-signature',
    'slsa-provenance',
    'model-signature',
    'spdx',
  ] as const) {
    const d = attestations.find((a) => a.kind === kind)!.digest;
    const rm = (await t.getManifest(repo, d))!;
    const json = JSON.parse(text(rm.bytes)) as Record<string, unknown> & { layers: OciDescriptor[] };
    const layer = json.layers[0]!;
    refs[kind] = {
      digest: d,
      manifest: Buffer.from(rm.bytes),
      json,
      layer,
      blob: Buffer.from(await t.fetchBlob(repo, layer.digest)),
    };
  }
  const tag = `${digest.replace(':', '-')}.sig`;
  const sm = (await t.getManifest(repo, tag))!;
  const sjson = JSON.parse(text(sm.bytes)) as Record<string, unknown> & {
    layers: OciDescriptor[];
    config: OciDescriptor;
  };
  return {
    repo,
    model: { digest, bytes: Buffer.from(m.bytes), json: JSON.parse(text(m.bytes)) as Record<string, unknown> },
    refs,
    sig: {
      tag,
      manifest: Buffer.from(sm.bytes),
      json: sjson,
      payload: Buffer.from(await t.fetchBlob(repo, sjson.layers[0]!.digest)),
      config: Buffer.from(await t.fetchBlob(repo, sjson.config.digest)),
    },
  };
}

/** A referrer manifest as the publisher writes one, around `layer`. */
export function referrerManifest(
  artifactType: string,
  layer: OciDescriptor,
  subject: { digest: string; size: number },
  annotations: Record<string, string> = {},
): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType,
    config: EMPTY_CONFIG,
    layers: [layer],
    subject: { mediaType: MediaType.ociManifest, digest: subject.digest, size: subject.size },
    annotations: { 'org.opencontainers.image.created': new Date().toISOString(), ...annotations },
  };
}

/** Pushes `blob` and a referrer manifest around it to `repo`; returns the referrer's digest. */
export async function attach(
  t: OciTarget,
  repo: string,
  subject: { digest: string; size: number },
  artifactType: string,
  blob: Uint8Array,
  annotations: Record<string, string> = {},
): Promise<string> {
  await t.pushBlob(repo, Buffer.from('{}'), MediaType.ociEmpty);
  const layer = await t.pushBlob(repo, blob, artifactType, { 'org.opencontainers.image.title': 'attached.json' });
  const bytes = Buffer.from(JSON.stringify(referrerManifest(artifactType, layer, subject, annotations)));
  return (await t.pushManifest(repo, digestOf(bytes), bytes)).digest;
}
