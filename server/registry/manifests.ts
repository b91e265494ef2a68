import type { Context } from 'hono';
import type { AppEnv } from '../context.ts';
import type { RouteDeps } from './blobs.ts';
import { RegistryError } from './errors.ts';
import { checkRepo } from './service.ts';

/** /v2/ manifest, tag, catalog and referrers routes: HTTP in and out; every decision is `RegistryService`'s. */
type C = Context<AppEnv>;

async function readLimited(c: C, max: number): Promise<Uint8Array> {
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (n <= max) chunks.push(chunk);
    // Over the limit: read on (dropping it) so the client finishes sending and gets the error instead of
    // a connection reset; leaving the loop early cancels the body, so only an absurd size is cut off.
    else if (n > max * 4) break;
  }
  if (n > max) throw new RegistryError('SIZE_INVALID', `manifest larger than ${max} bytes`);
  return new Uint8Array(Buffer.concat(chunks));
}

export async function putManifest(d: RouteDeps, c: C, repo: string, ref: string): Promise<Response> {
  const caller = c.get('caller');
  // Refused before the body is read when the caller may not push at all.
  d.registry.authorize(caller, checkRepo(repo), 'push');
  const bytes = await readLimited(c, d.maxManifestBytes);
  const r = await d.registry.putManifest(caller, repo, ref, bytes, c.req.header('content-type'));
  const headers: Record<string, string> = {
    Location: `/v2/${repo}/manifests/${r.digest}`,
    'Docker-Content-Digest': r.digest,
  };
  if (r.subject) headers['OCI-Subject'] = r.subject;
  return new Response(null, { status: 201, headers });
}

export async function getManifest(d: RouteDeps, c: C, repo: string, ref: string, head: boolean): Promise<Response> {
  const m = await d.registry.getManifest(c.get('caller'), repo, ref);
  if (!m) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} unknown to ${repo}`);
  await d.pullGate?.(repo, m);
  const headers = {
    'Content-Type': m.mediaType,
    'Docker-Content-Digest': m.digest,
    'Content-Length': String(m.bytes.length),
  };
  return new Response(head ? null : Buffer.from(m.bytes), { status: 200, headers });
}

export async function deleteManifest(d: RouteDeps, c: C, repo: string, ref: string): Promise<Response> {
  if (!(await d.registry.deleteManifest(c.get('caller'), repo, ref))) {
    throw new RegistryError('MANIFEST_UNKNOWN', ref.includes(':') ? `manifest ${ref} unknown` : `tag ${ref} unknown`);
  }
  return new Response(null, { status: 202 });
}

export async function listTags(d: RouteDeps, c: C, repo: string): Promise<Response> {
  const all = await d.registry.listTags(c.get('caller'), repo);
  if (!all) throw new RegistryError('NAME_UNKNOWN', `repository ${repo} unknown`);
  return paginate(c, `/v2/${repo}/tags/list`, all, (tags) => ({ name: repo, tags }));
}

export async function catalog(d: RouteDeps, c: C): Promise<Response> {
  return paginate(c, '/v2/_catalog', await d.registry.listRepositories(c.get('caller')), (repositories) => ({
    repositories,
  }));
}

function paginate(c: C, path: string, all: string[], shape: (page: string[]) => object): Response {
  const last = c.req.query('last');
  const nq = c.req.query('n');
  let items = last ? all.filter((t) => t > last) : all;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (nq !== undefined) {
    const n = Number(nq);
    if (items.length > n && n > 0)
      headers.Link = `<${path}?n=${n}&last=${encodeURIComponent(items[n - 1]!)}>; rel="next"`;
    items = items.slice(0, Math.max(n, 0));
  }
  return new Response(JSON.stringify(shape(items)), { status: 200, headers });
}

export async function referrers(d: RouteDeps, c: C, repo: string, digest: string): Promise<Response> {
  const want = c.req.query('artifactType');
  const manifests = await d.registry.referrers(c.get('caller'), repo, digest, want);
  const headers: Record<string, string> = { 'Content-Type': 'application/vnd.oci.image.index.v1+json' };
  if (want) headers['OCI-Filters-Applied'] = 'artifactType';
  return new Response(
    JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }),
    { status: 200, headers },
  );
}
