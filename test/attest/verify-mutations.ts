/**
 * Seeded mutations of a published model's genuine evidence for verify-fuzz.test.ts: of the blobs (flip a byte,
 * truncate, drop/change/add fields, duplicate keys, reformat, swap for another piece, not JSON at all) and of
 * the manifests around them (media types swapped, layers missing, doubled or pointing at missing or huge blobs,
 * sizes that lie, unknown fields, wrong subjects, indexes). Each mutant says whether it is `equivalent`: only
 * annotations differ from the genuine and the blob is byte-identical — the same signed evidence re-wrapped.
 */
import { MediaType } from '../../schema/media-types.ts';
import { digestOf } from '../../server/oci/digest.ts';
import type { OciDescriptor } from '../../server/oci/target.ts';

export type Rng = () => number;
export const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, xs.length)]!;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = (string | number)[];

/** Every path to an object member or array element (the root excluded). */
function paths(v: Json, at: Path = []): Path[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => [[...at, i], ...paths(x, [...at, i])]);
  if (v && typeof v === 'object') return Object.entries(v).flatMap(([k, x]) => [[...at, k], ...paths(x, [...at, k])]);
  return [];
}
function parentOf(root: Json, p: Path): Json {
  let cur: Json = root;
  for (const k of p.slice(0, -1)) cur = (cur as Record<string | number, Json>)[k]!;
  return cur;
}

/** A JSON document changed at one random place (its meaning changes: no mutation here is a no-op). */
export function mutateJson(rng: Rng, doc: Json): { what: string; value: Json } {
  const v = structuredClone(doc);
  const all = paths(v);
  const p = pick(rng, all);
  const parent = parentOf(v, p) as Record<string | number, Json>;
  const key = p.at(-1)!;
  const cur = parent[key]!;
  const op = int(rng, 3);
  if (op === 0) {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
    return { what: `drop ${p.join('.')}`, value: v };
  }
  if (op === 1 && (typeof cur !== 'object' || cur === null)) {
    parent[key] =
      typeof cur === 'string'
        ? `${cur}x`
        : typeof cur === 'number'
          ? cur + 1
          : typeof cur === 'boolean'
            ? !cur
            : 'null was here';
    return { what: `change ${p.join('.')}`, value: v };
  }
  const target = cur && typeof cur === 'object' && !Array.isArray(cur) ? cur : (parent as Json);
  if (target && typeof target === 'object' && !Array.isArray(target)) target[`unknown${int(rng, 1000)}`] = 'x';
  else if (Array.isArray(target)) target.push('unknown');
  return { what: `add a field near ${p.join('.')}`, value: v };
}

export interface BlobMutant {
  what: string;
  bytes: Buffer;
}

/** The genuine blob changed in one of many ways (never byte-identical to it). */
export function mutateBlob(rng: Rng, genuine: Buffer, others: Buffer[]): BlobMutant {
  const text = genuine.toString('utf8');
  const doc = JSON.parse(text) as Json;
  const op = int(rng, 10);
  switch (op) {
    case 0: {
      const b = Buffer.from(genuine);
      const i = int(rng, b.length);
      b[i] = b[i]! ^ (1 + int(rng, 255));
      return { what: `flip byte ${i}`, bytes: b };
    }
    case 1: {
      const n = int(rng, genuine.length);
      return { what: `truncate to ${n}`, bytes: genuine.subarray(0, n) };
    }
    case 2:
    case 3:
    case 4: {
      const m = mutateJson(rng, doc);
      return { what: m.what, bytes: Buffer.from(JSON.stringify(m.value)) };
    }
    case 5: {
      // A member duplicated (JSON.parse keeps the last, another parser may keep the first).
      const keys = Object.keys(doc as Record<string, Json>);
      const k = pick(rng, keys);
      const dup = `${JSON.stringify(k)}:${JSON.stringify((doc as Record<string, Json>)[k])}`;
      return { what: `duplicate key ${k}`, bytes: Buffer.from(`{${dup},${text.slice(1)}`) };
    }
    case 6: {
      // The same value in other bytes: indented, or a space after a random comma.
      if (rng() < 0.5) return { what: 'reindented', bytes: Buffer.from(JSON.stringify(doc, null, 1 + int(rng, 8))) };
      const commas = [...text.matchAll(/,/g)].map((m) => m.index);
      const i = pick(rng, commas.length ? commas : [0]);
      return { what: `space at ${i}`, bytes: Buffer.from(`${text.slice(0, i + 1)} ${text.slice(i + 1)}`) };
    }
    case 7: {
      const o = pick(rng, others);
      return { what: 'another piece of evidence (cut)', bytes: o.subarray(0, o.length - int(rng, o.length)) };
    }
    case 8: {
      const junk = Buffer.from(Array.from({ length: int(rng, 64) }, () => int(rng, 256)));
      return { what: 'not JSON', bytes: junk };
    }
    default: {
      // One character of a string written as a \u escape: the same value, other bytes.
      const spots = [...text.matchAll(/"[a-z]/g)].map((m) => m.index + 1);
      const at = pick(rng, spots);
      const esc = `\\u${text.charCodeAt(at).toString(16).padStart(4, '0')}`;
      return { what: `escaped character at ${at}`, bytes: Buffer.from(text.slice(0, at) + esc + text.slice(at + 1)) };
    }
  }
}

export interface ManifestMutant {
  what: string;
  manifest: Record<string, unknown>;
  /** Only annotations differ from the genuine manifest (and the blob is the genuine one). */
  equivalent: boolean;
}

/** Blobs a manifest mutant may point at, pushed by the test beforehand. */
export interface Pointables {
  huge: OciDescriptor;
  otherBlob: OciDescriptor;
  modelConfig: OciDescriptor;
  model: { digest: string; size: number };
  otherManifest: { digest: string; size: number };
}

const EVIDENCE_TYPES = [MediaType.inTotoLink, MediaType.cyclonedxJson, MediaType.sigstoreBundle];

/** The genuine referrer manifest changed around its genuine blob. */
export function mutateManifest(rng: Rng, genuine: Record<string, unknown>, at: Pointables): ManifestMutant {
  const m = structuredClone(genuine) as Record<string, unknown> & {
    layers: OciDescriptor[];
    config: OciDescriptor;
    subject: OciDescriptor;
    artifactType: string;
    annotations?: Record<string, string>;
  };
  const layer = m.layers[0]!;
  const ops: [string, () => void, boolean?][] = [
    [
      'artifact type swapped',
      () =>
        (m.artifactType = pick(
          rng,
          EVIDENCE_TYPES.filter((t) => t !== m.artifactType),
        )),
    ],
    ['artifact type unknown', () => (m.artifactType = 'application/vnd.example.evidence+json')],
    [
      'layer media type swapped',
      () =>
        (layer.mediaType = pick(
          rng,
          EVIDENCE_TYPES.filter((t) => t !== layer.mediaType),
        )),
    ],
    [
      'both types swapped',
      () =>
        (m.artifactType = layer.mediaType =
          pick(
            rng,
            EVIDENCE_TYPES.filter((t) => t !== m.artifactType),
          )),
    ],
    ['layer size larger', () => (layer.size += 1 + int(rng, 1000))],
    ['layer size smaller', () => (layer.size -= 1 + int(rng, Math.max(1, layer.size - 1)))],
    ['layer size 0', () => (layer.size = 0)],
    ['layer size huge', () => (layer.size = 2 ** 40)],
    [
      'layer missing (foreign, not in the registry)',
      () => {
        layer.mediaType = 'application/vnd.oci.image.layer.nondistributable.v1.tar';
        layer.digest = digestOf(Buffer.from(`missing ${rng()}`));
      },
    ],
    ['no layers', () => (m.layers = [])],
    ['layer twice', () => (m.layers = [layer, layer])],
    ['a second layer', () => (m.layers = [layer, at.otherBlob])],
    ['layer is the huge blob', () => (m.layers = [{ ...at.huge, mediaType: layer.mediaType }])],
    ['layer is another blob', () => (m.layers = [{ ...at.otherBlob, mediaType: layer.mediaType }])],
    ['layer has urls', () => Object.assign(layer, { urls: ['http://example.invalid/x'] })],
    ['layer data is not the content', () => Object.assign(layer, { data: 'e30=' })],
    ['config is the model config', () => (m.config = at.modelConfig)],
    ['config data is not the content', () => Object.assign(m.config, { data: 'bm90IGVtcHR5' })],
    ['config dropped', () => delete (m as Record<string, unknown>).config],
    ['artifactType dropped', () => delete (m as Record<string, unknown>).artifactType],
    ['schemaVersion 1', () => (m.schemaVersion = 1)],
    ['schemaVersion "2"', () => (m.schemaVersion = '2')],
    ['mediaType docker', () => (m.mediaType = MediaType.dockerManifest)],
    ['unknown top-level field', () => (m[`unknown${int(rng, 1e6)}`] = { x: 1 })],
    ['layers not an array', () => (m.layers = { 0: layer } as unknown as OciDescriptor[])],
    ['layer digest a number', () => (layer.digest = 42 as unknown as string)],
    ['subject size wrong', () => (m.subject.size += 1 + int(rng, 1000))],
    ['subject media type wrong', () => (m.subject.mediaType = MediaType.ociIndex)],
    ['annotations changed', () => (m.annotations = { ...m.annotations, 'org.example.note': `x${rng()}` }), true],
    ['annotations dropped', () => delete m.annotations, true],
    [
      'created date in the future',
      () => (m.annotations = { ...m.annotations, 'org.opencontainers.image.created': '2999-01-01T00:00:00Z' }),
      true,
    ],
    ['layer title changed', () => (layer.annotations = { 'org.opencontainers.image.title': `t${rng()}` }), true],
  ];
  const [what, apply, equivalent] = pick(rng, ops);
  apply();
  return { what, manifest: m, equivalent: equivalent === true };
}

/** A model manifest changed (a new digest, so none of the genuine evidence is about it). */
export function mutateModelManifest(rng: Rng, genuine: Record<string, unknown>, at: Pointables): ManifestMutant {
  const m = structuredClone(genuine) as Record<string, unknown> & {
    layers: OciDescriptor[];
    annotations?: Record<string, string>;
  };
  const ops: [string, () => void][] = [
    ['annotation changed', () => (m.annotations = { ...m.annotations, 'io.aibomgen.job': `job-${rng()}` })],
    ['annotations dropped', () => delete m.annotations],
    ['a layer dropped', () => m.layers.splice(int(rng, m.layers.length), 1)],
    ['layers reordered', () => m.layers.reverse()],
    ['layer media type swapped', () => (m.layers[0]!.mediaType = MediaType.modelDocRaw)],
    ['layer replaced', () => (m.layers[int(rng, m.layers.length)] = at.otherBlob)],
    ['layer size wrong', () => (m.layers[0]!.size += 1)],
    [
      'layer missing',
      () =>
        m.layers.push({
          mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
          digest: digestOf(Buffer.from(`${rng()}`)),
          size: 9,
        }),
    ],
    [
      'layer is the huge blob',
      () => m.layers.push({ ...at.huge, annotations: { 'org.opencontainers.image.title': 'huge.bin' } }),
    ],
    ['artifact type changed', () => (m.artifactType = MediaType.ociConfig)],
    ['unknown field', () => (m.unknown = [1, 2, 3])],
    ['config dropped', () => delete m.config],
    ['layers not an array', () => (m.layers = 'none' as unknown as OciDescriptor[])],
    [
      'a subject (a referrer posing as a model)',
      () => (m.subject = { mediaType: MediaType.ociManifest, ...at.otherManifest }),
    ],
  ];
  const [what, apply] = pick(rng, ops);
  apply();
  return { what, manifest: m, equivalent: false };
}

/** The cosign `.sig` manifest changed (only annotation-only changes are equivalent). */
export function mutateSignatureManifest(
  rng: Rng,
  genuine: Record<string, unknown>,
  at: Pointables & { badPayload: OciDescriptor; badConfig: OciDescriptor },
): ManifestMutant {
  const m = structuredClone(genuine) as Record<string, unknown> & {
    layers: OciDescriptor[];
    config: OciDescriptor;
    annotations?: Record<string, string>;
  };
  const l = m.layers[0]!;
  const sigKey = 'dev.cosignproject.cosign/signature';
  const sig = l.annotations?.[sigKey] ?? '';
  const ops: [string, () => void, boolean?][] = [
    ['payload replaced', () => (m.layers[0] = { ...at.badPayload, annotations: l.annotations })],
    [
      'signature byte flipped',
      () => {
        const b = Buffer.from(sig, 'base64');
        const i = int(rng, b.length);
        b[i] = b[i]! ^ (1 + int(rng, 255));
        l.annotations = { ...l.annotations, [sigKey]: b.toString('base64') };
      },
    ],
    [
      'signature not canonical base64',
      () => (l.annotations = { ...l.annotations, [sigKey]: `${sig.slice(0, -2)}\n${sig.slice(-2)}` }),
    ],
    ['signature dropped', () => (l.annotations = {})],
    ['layer media type swapped', () => (l.mediaType = MediaType.ociLayerTar)],
    ['no layers', () => (m.layers = [])],
    ['config replaced', () => (m.config = at.badConfig)],
    ['config media type', () => (m.config.mediaType = MediaType.ociEmpty)],
    ['unknown field', () => (m.unknown = true)],
    ['layer size wrong', () => (l.size += 1)],
    ['annotations added', () => (m.annotations = { 'org.example': `${rng()}` }), true],
  ];
  const [what, apply, equivalent] = pick(rng, ops);
  apply();
  return { what, manifest: m, equivalent: equivalent === true };
}
