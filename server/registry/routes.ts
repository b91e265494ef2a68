import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv, Routes } from '../context.ts';
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
import { SAFE_SERVING_HEADERS } from './safety.ts';

/** The OCI Distribution API at /v2/: a thin HTTP adapter over `RegistryService`. Names contain `/`, so one catch-all route parses the tail. */
export function registryRoutes(d: RouteDeps): Hono<AppEnv> {
  const r = new Hono<AppEnv>({ strict: false });
  r.use('*', safeServing);
  r.onError((err, c) => {
    if (err instanceof RegistryError) return c.json(err.toJSON(), err.status as 400, err.headers);
    d.log.error({ err }, 'registry front failure');
    return c.json({ errors: [{ code: 'UNKNOWN', message: 'internal error' }] }, 500);
  });
  r.get('/', (c) => {
    c.header('Docker-Distribution-API-Version', 'registry/2.0');
    // The version check. With auth on, an anonymous one is answered 401 with the Bearer challenge before it gets
    // here (server/auth/routes.ts): skopeo and docker learn the token flow from it, and fetch anonymous pull tokens.
    d.registry.authorize(c.get('caller'), '', 'pull');
    return c.json({});
  });
  r.all('/*', (c) => dispatch(d, c));
  return r;
}

/**
 * Sets the safe-serving headers on an answer once the handler (or onError) made it: every /v2/ answer, errors
 * included. Streamed blobs, written past Hono, carry them from node-io.ts.
 */
const safeServing: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res === RESPONSE_ALREADY_SENT) return;
  for (const [k, v] of Object.entries(SAFE_SERVING_HEADERS)) c.res.headers.set(k, v);
};

/**
 * The same for every answer under /v2 made by the app's routes, mounted first so that it wraps what other areas
 * answer there too (the version check's challenge, a CSRF refusal). The app-wide middleware before the routes
 * (server/app.ts) is outside it.
 */
export const registrySafeServing: Routes = {
  mount: (app) =>
    app.use('*', async (c, next) => {
      if (!/^\/v2(\/|$)/.test(c.req.path)) return next();
      return safeServing(c, next);
    }),
};

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
