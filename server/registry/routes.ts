import { Hono, type Context } from 'hono';
import { repositoryNamePattern } from '../../schema/oci.ts';
import type { AppEnv, Services } from '../context.ts';
import { authorize } from './access.ts';
import { cancelUpload, completeUpload, deleteBlob, getBlob, patchUpload, startUpload, uploadStatus } from './blobs.ts';
import { RegistryError } from './errors.ts';
import { catalog, deleteManifest, getManifest, listTags, putManifest, referrers } from './manifests.ts';

/** The OCI Distribution API at /v2/. Names contain `/`, so one catch-all route parses the tail. */
export function registryRoutes(s: Services): Hono<AppEnv> {
  const r = new Hono<AppEnv>({ strict: false });
  r.onError((err, c) => {
    if (err instanceof RegistryError) return c.json(err.toJSON(), err.status as 400, err.headers);
    s.log.error({ err }, 'registry front failure');
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal error' }] }, 500);
  });
  r.get('/', (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    // The version check is where `docker login` and friends learn the scheme: it answers 401 when no pull is open.
    authorize(s, c, '', 'pull');
    return c.json({});
  });
  r.all('/*', (c) => dispatch(s, c));
  return r;
}

async function dispatch(s: Services, c: Context<AppEnv>): Promise<Response> {
  const path = new URL(c.req.url).pathname.replace(/^\/v2\//, '');
  const method = c.req.method;
  let m = /^(.+)\/blobs\/uploads\/?$/.exec(path);
  if (m && method === 'POST') return startUpload(s, c, repoName(m[1]!));
  m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(path);
  if (m) {
    const repo = repoName(m[1]!);
    if (method === 'GET') return uploadStatus(s, c, repo, m[2]!);
    if (method === 'PATCH') return patchUpload(s, c, repo, m[2]!);
    if (method === 'PUT') return completeUpload(s, c, repo, m[2]!);
    if (method === 'DELETE') return cancelUpload(s, c, repo, m[2]!);
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) {
    const repo = repoName(m[1]!);
    if (method === 'GET' || method === 'HEAD') return getBlob(s, c, repo, m[2]!, method === 'HEAD');
    if (method === 'DELETE') return deleteBlob(s, c, repo, m[2]!);
  }
  m = /^(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) {
    const repo = repoName(m[1]!);
    if (method === 'GET' || method === 'HEAD') return getManifest(s, c, repo, m[2]!, method === 'HEAD');
    if (method === 'PUT') return putManifest(s, c, repo, m[2]!);
    if (method === 'DELETE') return deleteManifest(s, c, repo, m[2]!);
  }
  m = /^(.+)\/tags\/list$/.exec(path);
  if (m && method === 'GET') return listTags(s, c, repoName(m[1]!));
  m = /^(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return referrers(s, c, repoName(m[1]!), m[2]!);
  if (path === '_catalog' && method === 'GET') return catalog(s, c);
  throw new RegistryError('UNSUPPORTED', `${method} /v2/${path} is not supported`);
}

function repoName(name: string): string {
  if (name.length > 255 || !repositoryNamePattern.test(name)) throw new RegistryError('NAME_INVALID', `invalid repository name ${name}`);
  return name;
}
