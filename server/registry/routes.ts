import { type Context, Hono } from 'hono';
import type { AppEnv } from '../context.ts';
import {
  cancelUpload,
  completeUpload,
  deleteBlob,
  getBlob,
  patchUpload,
  type RouteDeps,
  startUpload,
  uploadStatus,
} from './blobs.ts';
import { RegistryError } from './errors.ts';
import { catalog, deleteManifest, getManifest, listTags, putManifest, referrers } from './manifests.ts';

/** The OCI Distribution API at /v2/: a thin HTTP adapter over `RegistryService`. Names contain `/`, so one catch-all route parses the tail. */
export function registryRoutes(d: RouteDeps): Hono<AppEnv> {
  const r = new Hono<AppEnv>({ strict: false });
  r.onError((err, c) => {
    if (err instanceof RegistryError) return c.json(err.toJSON(), err.status as 400, err.headers);
    d.log.error({ err }, 'registry front failure');
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal error' }] }, 500);
  });
  r.get('/', (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    // The version check is where `docker login` and friends learn the scheme: it answers 401 when no pull is open.
    d.registry.authorize(c.get('caller'), '', 'pull');
    return c.json({});
  });
  r.all('/*', (c) => dispatch(d, c));
  return r;
}

async function dispatch(d: RouteDeps, c: Context<AppEnv>): Promise<Response> {
  const path = new URL(c.req.url).pathname.replace(/^\/v2\//, '');
  const method = c.req.method;
  let m = /^(.+)\/blobs\/uploads\/?$/.exec(path);
  if (m && method === 'POST') return startUpload(d, c, m[1]!);
  m = /^(.+)\/blobs\/uploads\/([^/]+)$/.exec(path);
  if (m) {
    const [, repo, id] = m as unknown as [string, string, string];
    if (method === 'GET') return uploadStatus(d, c, repo, id);
    if (method === 'PATCH') return patchUpload(d, c, repo, id);
    if (method === 'PUT') return completeUpload(d, c, repo, id);
    if (method === 'DELETE') return cancelUpload(d, c, repo, id);
  }
  m = /^(.+)\/blobs\/([^/]+)$/.exec(path);
  if (m) {
    if (method === 'GET' || method === 'HEAD') return getBlob(d, c, m[1]!, m[2]!, method === 'HEAD');
    if (method === 'DELETE') return deleteBlob(d, c, m[1]!, m[2]!);
  }
  m = /^(.+)\/manifests\/([^/]+)$/.exec(path);
  if (m) {
    if (method === 'GET' || method === 'HEAD') return getManifest(d, c, m[1]!, m[2]!, method === 'HEAD');
    if (method === 'PUT') return putManifest(d, c, m[1]!, m[2]!);
    if (method === 'DELETE') return deleteManifest(d, c, m[1]!, m[2]!);
  }
  m = /^(.+)\/tags\/list$/.exec(path);
  if (m && method === 'GET') return listTags(d, c, m[1]!);
  m = /^(.+)\/referrers\/([^/]+)$/.exec(path);
  if (m && method === 'GET') return referrers(d, c, m[1]!, m[2]!);
  if (path === '_catalog' && method === 'GET') return catalog(d, c);
  throw new RegistryError('UNSUPPORTED', `${method} /v2/${path} is not supported`);
}
