import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { apiErrorResponse, HttpError } from './api-error.ts';
import { auditTrail } from './audit/middleware.ts';
import { identify } from './auth.ts';
import { edgeGuard } from './edge-guard.ts';
import type { Platform } from './compose.ts';
import type { AppEnv } from './context.ts';
import { requestLog } from './ops/request-log.ts';
import { RegistryError } from './registry/errors.ts';

/**
 * The whole HTTP surface of a composed platform: request id, caller identity and the request log for every
 * request, then each area's routes. Nothing here is a service: it only adapts HTTP to them.
 */
export function createApp(p: Platform): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use('*', requestId());
  // Before the edge guard and identify: their refusals are audited too.
  app.use('*', auditTrail({ audit: p.audit, db: p.db, maxGraphqlBytes: p.config.maxGraphqlBytes }));
  app.use('*', edgeGuard(p.config));
  // Auth off: no resolver is asked, every caller is anonymous.
  app.use('*', identify(p.auth.enabled ? p.auth.resolvers : []));
  app.use(
    '*',
    requestLog(p.log, (r) => p.metrics.observeRequest(r)),
  );
  // Rate limits and the queued-jobs cap: they key on the caller, and run before any route reads a body.
  app.use('*', ...p.fairUse.middlewares());
  // REST errors (HttpError) answer the ApiError JSON; anything else is logged and answers a bare 500.
  app.onError((err, c) => {
    if (err instanceof HttpError) return apiErrorResponse(c, err);
    // A registry refusal reaching a REST route (verification as the caller, artifacts): the same status, REST's shape.
    if (err instanceof RegistryError) return apiErrorResponse(c, registryToHttp(err));
    p.log.error({ err, method: c.req.method, path: c.req.path, requestId: c.get('requestId') }, 'unhandled error');
    return apiErrorResponse(c, new HttpError(500, 'internal', 'internal error'));
  });
  app.get('/healthz', (c) => c.json(p.auth.health()));
  for (const r of p.routes) r.mount(app);
  return app;
}

/** On the first SIGINT or SIGTERM: `first()` (stop listening), close the platform, exit 0. Later signals wait for it. */
export function closeOnSignals(p: Platform, first?: () => void): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      first?.();
      void p.close().finally(() => process.exit(0));
    });
  }
}

function registryToHttp(e: RegistryError): HttpError {
  const status = e.status === 401 || e.status === 403 || e.status === 404 || e.status === 429 ? e.status : 400;
  return new HttpError(
    status,
    e.status === 401 ? 'unauthorized' : e.status === 403 ? 'forbidden' : e.code.toLowerCase(),
    e.message,
  );
}
