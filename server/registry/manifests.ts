import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { digestPattern, tagPattern } from '../../schema/oci.ts';
import type { AppEnv, Services } from '../context.ts';
import { authorize } from './access.ts';
import { RegistryError } from './errors.ts';

type C = Context<AppEnv>;
interface Desc { mediaType?: string; digest?: string; size?: number; artifactType?: string; annotations?: Record<string, string> }
interface Parsed { mediaType?: string; artifactType?: string; config?: Desc; layers?: Desc[]; manifests?: Desc[]; subject?: Desc; annotations?: Record<string, string> }

const isDigest = (r: string) => r.includes(':');

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

export async function putManifest(s: Services, c: C, repo: string, ref: string): Promise<Response> {
  authorize(s, c, repo, 'push');
  if (!isDigest(ref) && !tagPattern.test(ref)) throw new RegistryError('MANIFEST_INVALID', `invalid tag ${ref}`);
  const bytes = await readLimited(c, s.config.maxManifestBytes);
  let m: Parsed;
  try {
    m = JSON.parse(Buffer.from(bytes).toString('utf8')) as Parsed;
  } catch {
    throw new RegistryError('MANIFEST_INVALID', 'manifest is not valid JSON');
  }
  const mediaType = m.mediaType ?? c.req.header('content-type') ?? '';
  if (!mediaType) throw new RegistryError('MANIFEST_INVALID', 'manifest has no mediaType');
  const alg = isDigest(ref) && ref.startsWith('sha512:') ? 'sha512' : 'sha256';
  const digest = `${alg}:${createHash(alg).update(bytes).digest('hex')}`;
  if (isDigest(ref) && ref !== digest) throw new RegistryError('DIGEST_INVALID', `manifest digest ${digest} does not match ${ref}`);
  for (const d of [m.config, ...(m.layers ?? [])]) {
    // Non-distributable (foreign) layers live elsewhere by design: the registry need not hold them.
    if (!d || /nondistributable|foreign/.test(d.mediaType ?? '')) continue;
    if (!d.digest || !digestPattern.test(d.digest) || !(await s.store.statBlob(repo, d.digest))) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `blob ${d.digest} unknown to ${repo}`);
  }
  for (const d of m.manifests ?? []) {
    if (!d.digest || !(await s.store.getManifest(repo, d.digest))) throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest ${d.digest} unknown to ${repo}`);
  }
  // Index row first: the embedded store reads the media type from it.
  const row = {
    repo, digest, media_type: mediaType, artifact_type: m.artifactType ?? m.config?.mediaType ?? null,
    subject_digest: m.subject?.digest ?? null, size: bytes.length,
    annotations_json: m.annotations ? JSON.stringify(m.annotations) : null, created_at: new Date().toISOString(),
  };
  const prior = await s.db.selectFrom('registry_manifests').selectAll().where('repo', '=', repo).where('digest', '=', digest).executeTakeFirst();
  await s.db.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', digest).execute();
  await s.db.insertInto('registry_manifests').values(row).execute();
  try {
    await s.store.putManifest(repo, { digest, mediaType, bytes }, isDigest(ref) ? undefined : ref);
  } catch (e) {
    // The store refused it (an upstream registry validates too): the index must not list what is not stored.
    await s.db.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', digest).execute();
    if (prior) await s.db.insertInto('registry_manifests').values(prior).execute();
    throw e;
  }
  s.events.emit('manifest.put', { repo, digest, mediaType, bytes, ...(isDigest(ref) ? {} : { tag: ref }) });
  const headers: Record<string, string> = { Location: `/v2/${repo}/manifests/${digest}`, 'Docker-Content-Digest': digest };
  if (m.subject?.digest) headers['OCI-Subject'] = m.subject.digest;
  return new Response(null, { status: 201, headers });
}

export async function getManifest(s: Services, c: C, repo: string, ref: string, head: boolean): Promise<Response> {
  authorize(s, c, repo, 'pull');
  const m = await s.store.getManifest(repo, ref);
  if (!m) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} unknown to ${repo}`);
  const headers = { 'Content-Type': m.mediaType, 'Docker-Content-Digest': m.digest, 'Content-Length': String(m.bytes.length) };
  return new Response(head ? null : Buffer.from(m.bytes), { status: 200, headers });
}

export async function deleteManifest(s: Services, c: C, repo: string, ref: string): Promise<Response> {
  authorize(s, c, repo, 'delete');
  if (!isDigest(ref)) {
    if (!(await s.store.deleteTag(repo, ref))) throw new RegistryError('MANIFEST_UNKNOWN', `tag ${ref} unknown`);
    s.events.emit('tag.delete', { repo, tag: ref });
    return new Response(null, { status: 202 });
  }
  if (!(await s.store.deleteManifest(repo, ref))) throw new RegistryError('MANIFEST_UNKNOWN', `manifest ${ref} unknown`);
  await s.db.deleteFrom('registry_manifests').where('repo', '=', repo).where('digest', '=', ref).execute();
  s.events.emit('manifest.delete', { repo, digest: ref });
  return new Response(null, { status: 202 });
}

export async function listTags(s: Services, c: C, repo: string): Promise<Response> {
  authorize(s, c, repo, 'pull');
  const all = await s.store.listTags(repo);
  if (!all) throw new RegistryError('NAME_UNKNOWN', `repository ${repo} unknown`);
  return paginate(c, `/v2/${repo}/tags/list`, all, (tags) => ({ name: repo, tags }));
}

export async function catalog(s: Services, c: C): Promise<Response> {
  authorize(s, c, '', 'pull');
  return paginate(c, '/v2/_catalog', await s.store.listRepositories(), (repositories) => ({ repositories }));
}

function paginate(c: C, path: string, all: string[], shape: (page: string[]) => object): Response {
  const last = c.req.query('last');
  const nq = c.req.query('n');
  let items = last ? all.filter((t) => t > last) : all;
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (nq !== undefined) {
    const n = Number(nq);
    if (items.length > n && n > 0) headers.Link = `<${path}?n=${n}&last=${encodeURIComponent(items[n - 1]!)}>; rel="next"`;
    items = items.slice(0, Math.max(n, 0));
  }
  return new Response(JSON.stringify(shape(items)), { status: 200, headers });
}

export async function referrers(s: Services, c: C, repo: string, digest: string): Promise<Response> {
  authorize(s, c, repo, 'pull');
  if (!digestPattern.test(digest)) throw new RegistryError('DIGEST_INVALID', `invalid digest ${digest}`);
  const want = c.req.query('artifactType');
  let q = s.db.selectFrom('registry_manifests').selectAll().where('repo', '=', repo).where('subject_digest', '=', digest);
  if (want) q = q.where('artifact_type', '=', want);
  const rows = await q.orderBy('created_at').execute();
  const manifests = rows.map((r) => ({
    mediaType: r.media_type, digest: r.digest, size: Number(r.size),
    ...(r.artifact_type ? { artifactType: r.artifact_type } : {}),
    ...(r.annotations_json ? { annotations: JSON.parse(r.annotations_json) as Record<string, string> } : {}),
  }));
  const headers: Record<string, string> = { 'Content-Type': 'application/vnd.oci.image.index.v1+json' };
  if (want) headers['OCI-Filters-Applied'] = 'artifactType';
  return new Response(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }), { status: 200, headers });
}
