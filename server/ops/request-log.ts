import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { AppEnv } from '../context.ts';
import type { RequestRecord } from './http-observer.ts';

/**
 * One structured JSON log line per request (request id, method, path, status, ms) through the server's pino
 * logger, and the same record to /metrics. Install after the request-id middleware. `path` has no query
 * string, so tokens or cursors in it never reach the log. For streamed bodies (SSE, blobs) `ms` is the time
 * to the response headers.
 */
export function requestLog(logger: Logger, observe: (r: RequestRecord) => void): MiddlewareHandler<AppEnv> {
  const log = logger.child({ area: 'http' });
  return async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const record = {
        requestId: c.get('requestId'),
        method: c.req.method,
        path: c.req.path,
        // A handler that threw has already been turned into the error response by Hono's onError; one that
        // streamed to the node response itself (registry/node-io.ts) has sent its status there.
        status: c.env?.outgoing?.headersSent ? c.env.outgoing.statusCode : c.res.status,
        ms: Math.round((performance.now() - start) * 10) / 10,
      };
      log.info(record, 'request');
      observe(record);
    }
  };
}
