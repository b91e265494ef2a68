import { Annotation, MediaType } from '../../schema/media-types.ts';
import { digestOf, OciClient, type OciDescriptor } from '../../server/oci/client.ts';

/** Test helpers over the platform's OCI client: push blobs and manifests to the server's /v2/ front over HTTP. */
export const sha256 = (b: Uint8Array | string): string => digestOf(typeof b === 'string' ? Buffer.from(b) : b);

export async function pushBlob(
  url: string,
  repo: string,
  bytes: Uint8Array | string,
  mediaType: string,
  annotations?: Record<string, string>,
): Promise<OciDescriptor> {
  return new OciClient(url).pushBlob(
    repo,
    typeof bytes === 'string' ? Buffer.from(bytes) : bytes,
    mediaType,
    annotations,
  );
}

export async function pushManifest(
  url: string,
  repo: string,
  ref: string | undefined,
  manifest: object,
): Promise<{ digest: string; bytes: Buffer; desc: OciDescriptor }> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const desc = await new OciClient(url).pushManifest(repo, ref ?? digestOf(bytes), bytes, MediaType.ociManifest);
  return { digest: desc.digest, bytes, desc };
}

export async function deleteManifest(url: string, repo: string, ref: string): Promise<void> {
  await new OciClient(url).deleteManifest(repo, ref);
}

/** An input artifact the way the publisher pushes it (datasets/<name>, base-models/<name>). */
export async function pushInput(
  url: string,
  repo: string,
  file: string,
  content: Uint8Array | string,
  mediaType: string,
): Promise<string> {
  const cfg = await pushBlob(url, repo, '{}', MediaType.ociEmpty);
  const layer = await pushBlob(url, repo, content, mediaType, { [Annotation.title]: file });
  return (
    await pushManifest(url, repo, 'v1', {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: mediaType,
      config: cfg,
      layers: [layer],
    })
  ).digest;
}

/** A ModelPack model with one weight file and a metrics.json, tagged, with the given annotations. */
export async function pushModel(
  url: string,
  repo: string,
  tag: string,
  weights: Uint8Array | string,
  annotations: Record<string, string>,
  config: object = {},
): Promise<string> {
  const cfg = await pushBlob(
    url,
    repo,
    JSON.stringify({
      descriptor: { name: repo.split('/').pop(), version: tag },
      config: { format: 'keras' },
      modelfs: { type: 'layers', diffIds: [] },
      ...config,
    }),
    MediaType.modelConfig,
  );
  const w = await pushBlob(url, repo, weights, MediaType.modelWeightRaw, {
    [Annotation.title]: 'model/model.keras',
    [Annotation.modelFilepath]: 'model/model.keras',
  });
  const metrics = await pushBlob(url, repo, JSON.stringify({ accuracy: 0.9, loss: 0.1 }), MediaType.modelDocRaw, {
    [Annotation.title]: 'metrics.json',
  });
  return (
    await pushManifest(url, repo, tag, {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      artifactType: MediaType.modelManifestArtifact,
      config: cfg,
      layers: [w, metrics],
      annotations,
    })
  ).digest;
}

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GqlResult<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GqlResult<T>;
}

/** Data of a query that must succeed. */
export async function gqlOk<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const r = await gql<T>(url, query, variables);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}
