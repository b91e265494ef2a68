/**
 * Total reads of untrusted registry content for verification: every function here answers `{ ok: false, reason }`
 * for any shape it did not expect (a missing blob, a size that lies, bytes that are not JSON, a descriptor with a
 * number where a digest belongs) and never throws. Evidence JSON is read whole only up to a cap; everything else
 * (model weights) is hashed as a stream in constant memory.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Annotation } from '../../schema/media-types.ts';
import { ImageManifest as OciImageManifest, Descriptor as OciDescriptor } from '../../schema/oci.ts';
import { registeredDigestPattern } from '../../schema/reference.ts';
import type { OciTarget } from '../oci/target.ts';

export type Result<T> = ({ ok: true } & T) | { ok: false; reason: string };

/** Evidence documents (links, AIBoMs, bundles, signature payloads) are read whole up to this size. */
export const MAX_EVIDENCE_BYTES = 16 * 1024 * 1024;

/**
 * The one descriptor (schema/oci.ts), narrowed for evidence: a registered digest algorithm, a size that is a safe
 * integer, none of the platform-specific fields.
 */
const Descriptor = OciDescriptor.omit({ urls: true, platform: true }).extend({
  digest: z.string().regex(registeredDigestPattern, 'not a sha256/sha512 digest'),
  size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type CheckedDescriptor = z.infer<typeof Descriptor>;
/** Evidence manifests are written by the platform's publisher: no field it does not write. */
const StrictDescriptor = Descriptor.strict();

/** The fields of an image manifest verification reads; other fields are allowed (the OCI spec says to ignore them). */
const ImageManifest = OciImageManifest.extend({
  config: Descriptor,
  layers: z.array(Descriptor),
  subject: Descriptor.optional(),
});
export type CheckedManifest = z.infer<typeof ImageManifest>;

/** An evidence referrer as the publisher writes it: exactly one layer, a subject, nothing else. */
const EvidenceManifest = z.strictObject({
  schemaVersion: z.literal(2),
  mediaType: z.string(),
  artifactType: z.string(),
  config: StrictDescriptor,
  layers: z.array(StrictDescriptor).length(1, 'an evidence referrer has exactly one layer'),
  subject: StrictDescriptor,
  annotations: z.record(z.string(), z.string()).optional(),
});
export type EvidenceManifest = z.infer<typeof EvidenceManifest>;

/** cosign's `.sig` manifest: a config and simple-signing layers. */
const SignatureManifest = z.strictObject({
  schemaVersion: z.literal(2),
  mediaType: z.string(),
  config: StrictDescriptor,
  layers: z.array(StrictDescriptor).min(1),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type SignatureManifest = z.infer<typeof SignatureManifest>;

function issue(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || '(manifest)'}: ${i.message}` : 'unexpected shape';
}

/** Valid UTF-8 JSON, or a reason. */
export function parseJson(bytes: Uint8Array): Result<{ value: unknown; text: string }> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, reason: 'not UTF-8 text' };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown, text };
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
}

/**
 * JSON exactly as the platform writes it (JSON.stringify): whitespace, duplicate keys and escapes that another
 * parser might read differently are refused, so every byte of an evidence document is what was signed or hashed.
 */
export function parseCanonicalJson(bytes: Uint8Array): Result<{ value: unknown }> {
  const r = parseJson(bytes);
  if (!r.ok) return r;
  if (JSON.stringify(r.value) !== r.text)
    return { ok: false, reason: 'JSON not in the form the platform writes (whitespace, duplicate keys or escapes)' };
  return { ok: true, value: r.value };
}

/** A descriptor's embedded `data`, when there, must be canonical base64 of exactly the content it describes. */
function embeddedDataProblem(d: { digest: string; size: number; data?: string | undefined }): string | undefined {
  if (d.data === undefined) return undefined;
  const b = canonicalBase64(d.data, false) ?? (d.data === '' ? Buffer.alloc(0) : undefined);
  const alg = d.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
  return b && b.length === d.size && `${alg}:${createHash(alg).update(b).digest('hex')}` === d.digest
    ? undefined
    : `descriptor ${d.digest}: embedded data is not its content`;
}

function shaped<T extends { config: CheckedDescriptor; layers: CheckedDescriptor[] }>(
  schema: z.ZodType<T>,
  bytes: Uint8Array,
  what: string,
): Result<{ manifest: T }> {
  const j = parseJson(bytes);
  if (!j.ok) return { ok: false, reason: `${what} is ${j.reason}` };
  const p = schema.safeParse(j.value);
  if (!p.success) return { ok: false, reason: `${what}: ${issue(p.error)}` };
  const bad = [p.data.config, ...p.data.layers].map(embeddedDataProblem).find(Boolean);
  return bad ? { ok: false, reason: `${what}: ${bad}` } : { ok: true, manifest: p.data };
}

export const parseImageManifest = (b: Uint8Array): Result<{ manifest: CheckedManifest }> =>
  shaped(ImageManifest, b, 'manifest');
export const parseEvidenceManifest = (b: Uint8Array): Result<{ manifest: EvidenceManifest }> =>
  shaped(EvidenceManifest, b, 'evidence manifest');
export const parseSignatureManifest = (b: Uint8Array): Result<{ manifest: SignatureManifest }> =>
  shaped(SignatureManifest, b, 'signature manifest');

const errText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).slice(0, 300);

/**
 * Streams a blob through its hash (constant memory, any size); `keep` collects the bytes too, refusing more than
 * `keep` of them. The blob must be exactly `d.size` bytes hashing to `d.digest`.
 */
async function readBlob(
  t: OciTarget,
  repo: string,
  d: { digest: string; size: number },
  keep?: number,
): Promise<Result<{ bytes?: Buffer }>> {
  if (keep !== undefined && d.size > keep)
    return {
      ok: false,
      reason: `blob ${d.digest} is ${d.size} bytes, over the ${keep}-byte limit for evidence: not read`,
    };
  let stream: NodeJS.ReadableStream;
  try {
    ({ stream } = await t.openBlob(repo, d.digest, { verify: false }));
  } catch (e) {
    return { ok: false, reason: `blob ${d.digest} missing (${errText(e)})` };
  }
  const h = createHash(d.digest.startsWith('sha512:') ? 'sha512' : 'sha256');
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of stream as AsyncIterable<Buffer>) {
      n += c.length;
      // Longer than the descriptor says: stop reading (a registry could send without end).
      if (n > d.size) {
        (stream as unknown as { destroy?: () => void }).destroy?.();
        return { ok: false, reason: `blob ${d.digest} is longer than the ${d.size} bytes its descriptor says` };
      }
      h.update(c);
      if (keep !== undefined) chunks.push(c);
    }
  } catch (e) {
    return { ok: false, reason: `blob ${d.digest} could not be read (${errText(e)})` };
  }
  if (n !== d.size) return { ok: false, reason: `blob ${d.digest} is ${n} bytes, its descriptor says ${d.size}` };
  const actual = `${d.digest.slice(0, d.digest.indexOf(':'))}:${h.digest('hex')}`;
  if (actual !== d.digest) return { ok: false, reason: `blob content hashes to ${actual}, not ${d.digest} (altered)` };
  return keep === undefined ? { ok: true } : { ok: true, bytes: Buffer.concat(chunks) };
}

/** A blob of any size, hashed as it streams: the descriptor's size and digest must both hold. */
export async function hashBlob(
  t: OciTarget,
  repo: string,
  d: { digest: string; size: number },
): Promise<Result<object>> {
  return readBlob(t, repo, d);
}

/** A small blob (evidence), read whole when its descriptor says at most `cap` bytes, and checked. */
export async function readSmallBlob(
  t: OciTarget,
  repo: string,
  d: { digest: string; size: number },
  cap = MAX_EVIDENCE_BYTES,
): Promise<Result<{ bytes: Buffer }>> {
  const r = await readBlob(t, repo, d, cap);
  return r.ok ? { ok: true, bytes: r.bytes ?? Buffer.alloc(0) } : r;
}

/** A manifest by digest, checked against it; a reason when missing, unreadable or altered. */
export async function readManifest(
  t: OciTarget,
  repo: string,
  ref: string,
): Promise<Result<{ bytes: Uint8Array; digest: string; mediaType: string }>> {
  let got: Awaited<ReturnType<OciTarget['getManifest']>>;
  try {
    got = await t.getManifest(repo, ref, { verify: false });
  } catch (e) {
    return { ok: false, reason: `manifest ${ref} could not be read (${errText(e)})` };
  }
  if (!got) return { ok: false, reason: `manifest ${ref} missing` };
  const alg = ref.startsWith('sha512:') ? 'sha512' : 'sha256';
  const digest = `${alg}:${createHash(alg).update(got.bytes).digest('hex')}`;
  if (registeredDigestPattern.test(ref) && digest !== ref)
    return { ok: false, reason: `manifest bytes hash to ${digest}, not ${ref} (altered)` };
  return { ok: true, bytes: got.bytes, digest, mediaType: got.mediaType };
}

/** Base64 (standard or url alphabet) that decodes and re-encodes to itself: no ignored characters or padding bits. */
export function canonicalBase64(s: unknown, url: boolean): Buffer | undefined {
  if (typeof s !== 'string' || s.length === 0) return undefined;
  const b = Buffer.from(s, url ? 'base64url' : 'base64');
  return b.toString(url ? 'base64url' : 'base64') === s ? b : undefined;
}

/** Titled layers of a model manifest as the link names them: `outputs/<title>` → sha256 hex. */
export function outputFiles(
  layers: readonly { digest: string; annotations?: Record<string, string> }[],
): Record<string, string> {
  const files: Record<string, string> = {};
  for (const l of layers) {
    const title = l.annotations?.[Annotation.title];
    if (title && l.digest.startsWith('sha256:')) files[`outputs/${title}`] = l.digest.slice(7);
  }
  return files;
}
