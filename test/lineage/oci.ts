import { createHash } from 'node:crypto';
import { Annotation, MediaType } from '../../schema/media-types.ts';

/** Small OCI client for tests: pushes blobs and manifests to the server's /v2/ front over HTTP. */
export const sha256 = (b: Uint8Array | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface Desc { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }

export async function pushBlob(url: string, repo: string, bytes: Uint8Array | string, mediaType: string, annotations?: Record<string, string>): Promise<Desc> {
  const body = typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes);
  const digest = sha256(body);
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`blob push to ${repo}: ${res.status}`);
  return { mediaType, digest, size: body.length, ...(annotations ? { annotations } : {}) };
}

export async function pushManifest(url: string, repo: string, ref: string | undefined, manifest: object): Promise<{ digest: string; bytes: Buffer; desc: Desc }> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref ?? digest}`, { method: 'PUT', body: bytes, headers: { 'content-type': MediaType.ociManifest } });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest push to ${repo}:${ref}: ${res.status} ${text}`);
  return { digest, bytes, desc: { mediaType: MediaType.ociManifest, digest, size: bytes.length } };
}

export async function deleteManifest(url: string, repo: string, ref: string): Promise<void> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { method: 'DELETE' });
  await res.arrayBuffer();
  if (res.status !== 202) throw new Error(`delete ${repo}:${ref}: ${res.status}`);
}

/** An input artifact the way the publisher pushes it (datasets/<name>, base-models/<name>). */
export async function pushInput(url: string, repo: string, file: string, content: Uint8Array | string, mediaType: string): Promise<string> {
  const cfg = await pushBlob(url, repo, '{}', MediaType.ociEmpty);
  const layer = await pushBlob(url, repo, content, mediaType, { [Annotation.title]: file });
  return (await pushManifest(url, repo, 'v1', { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: mediaType, config: cfg, layers: [layer] })).digest;
}

/** A ModelPack model with one weight file and a metrics.json, tagged, with the given annotations. */
export async function pushModel(url: string, repo: string, tag: string, weights: Uint8Array | string, annotations: Record<string, string>, config: object = {}): Promise<string> {
  const cfg = await pushBlob(url, repo, JSON.stringify({ descriptor: { name: repo.split('/').pop(), version: tag }, config: { format: 'keras' }, modelfs: { type: 'layers', diffIds: [] }, ...config }), MediaType.modelConfig);
  const w = await pushBlob(url, repo, weights, MediaType.modelWeightRaw, { [Annotation.title]: 'model/model.keras', [Annotation.modelFilepath]: 'model/model.keras' });
  const metrics = await pushBlob(url, repo, JSON.stringify({ accuracy: 0.9, loss: 0.1 }), MediaType.modelDocRaw, { [Annotation.title]: 'metrics.json' });
  return (await pushManifest(url, repo, tag, { schemaVersion: 2, mediaType: MediaType.ociManifest, artifactType: MediaType.modelManifestArtifact, config: cfg, layers: [w, metrics], annotations })).digest;
}

export interface GqlResult<T> { data?: T; errors?: { message: string; extensions?: { code?: string } }[] }

export async function gql<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<GqlResult<T>> {
  const res = await fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as GqlResult<T>;
}

/** Data of a query that must succeed. */
export async function gqlOk<T = Record<string, unknown>>(url: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const r = await gql<T>(url, query, variables);
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}
