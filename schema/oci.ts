import { z } from 'zod';
import { digestPattern, sha256DigestPattern } from './reference.ts';

// The grammar lives beside the reference parser (which must load without zod); re-exported for schema users.
export {
  digestPattern,
  registeredDigestPattern,
  repositoryNamePattern,
  sha256DigestPattern,
  tagPattern,
} from './reference.ts';

export const Digest = z.string().regex(sha256DigestPattern, 'expected sha256:<64 hex>');
export type Digest = z.infer<typeof Digest>;

export const Descriptor = z.object({
  mediaType: z.string().min(1),
  digest: z.string().regex(digestPattern),
  size: z.number().int().nonnegative(),
  urls: z.array(z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
  artifactType: z.string().optional(),
  platform: z.record(z.string(), z.unknown()).optional(),
});
/** The one descriptor type: `OciDescriptor` (server/oci/target.ts) is this type. */
export type Descriptor = z.infer<typeof Descriptor>;

/** OCI image manifest (also accepts Docker schema2, which has the same shape). */
export const ImageManifest = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: Descriptor,
  layers: z.array(Descriptor),
  subject: Descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageManifest = z.infer<typeof ImageManifest>;

/** OCI image index (also accepts Docker manifest list). */
export const ImageIndex = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  manifests: z.array(Descriptor),
  subject: Descriptor.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ImageIndex = z.infer<typeof ImageIndex>;

/** Error codes of the distribution-spec, with their HTTP status. */
export const RegistryErrorStatus = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 415,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
} as const;
export type RegistryErrorCode = keyof typeof RegistryErrorStatus;
