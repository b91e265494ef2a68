import { manifestMediaTypes } from '../../schema/media-types.ts';
import { RegistryError } from './errors.ts';

/**
 * Headers on every /v2/ response (success, error, HEAD, streamed blob): a registry serves bytes anyone
 * may have pushed, so a browser must never sniff them into HTML or run anything they contain.
 */
export const SAFE_SERVING_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
});

/** Content types that say nothing about the manifest: its own `mediaType` decides (as distribution does). */
const GENERIC = new Set(['', 'application/json']);

/**
 * The media type a manifest is stored and served under: only an OCI image manifest or index, or a Docker
 * schema2 manifest or manifest list (`manifestMediaTypes`). A manifest is served with this type as its
 * Content-Type, so anything else (text/html, say) would let a push choose how a browser treats the response.
 * The body's `mediaType` and the request's Content-Type must agree when both are given (distribution-spec).
 */
export function manifestMediaType(bodyType: unknown, contentType: string | undefined): string {
  const header = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (bodyType !== undefined && typeof bodyType !== 'string')
    throw new RegistryError('MANIFEST_INVALID', 'the manifest mediaType is not a string');
  if (bodyType !== undefined && !manifestMediaTypes.includes(bodyType))
    throw new RegistryError('MANIFEST_INVALID', `manifest mediaType ${JSON.stringify(bodyType)} is not accepted`, {
      accepted: manifestMediaTypes,
    });
  if (!GENERIC.has(header)) {
    if (!manifestMediaTypes.includes(header))
      throw new RegistryError('MANIFEST_INVALID', `Content-Type ${JSON.stringify(header)} is not a manifest type`, {
        accepted: manifestMediaTypes,
      });
    if (bodyType !== undefined && bodyType !== header)
      throw new RegistryError(
        'MANIFEST_INVALID',
        `manifest mediaType ${bodyType} does not match the Content-Type ${header}`,
      );
  }
  const type = (bodyType as string | undefined) ?? (GENERIC.has(header) ? undefined : header);
  if (!type) throw new RegistryError('MANIFEST_INVALID', 'manifest has no mediaType (in its body or the Content-Type)');
  return type;
}
