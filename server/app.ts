import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { apiErrorResponse, HttpError } from './api-error.ts';
import { identify } from './auth.ts';
import type { Platform } from './compose.ts';
import type { AppEnv } from './context.ts';
import { requestLog } from './ops/request-log.ts';

/**
 * The whole HTTP surface of a composed platform: request id, caller identity and the request log for every
 * request, then each area's routes. Nothing here is a service: it only adapts HTTP to them.
 */
export function createApp(p: Platform): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use('*', requestId());
  app.use('*', identify(p.auth));
  app.use(
    '*',
    requestLog(p.log, (r) => p.metrics.observeRequest(r)),
  );
  // REST errors (HttpError) answer the ApiError JSON; anything else is logged and answers a bare 500.
  app.onError((err, c) => {
    if (err instanceof HttpError) return apiErrorResponse(c, err);
    p.log.error({ err, method: c.req.method, path: c.req.path, requestId: c.get('requestId') }, 'unhandled error');
    return apiErrorResponse(c, new HttpError(500, 'internal', 'internal error'));
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
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
