import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import type { Caller } from './identity.ts';

/**
 * Hono environment: node bindings (the raw request/response, for streaming) plus per-request variables:
 * `requestId` (hono/request-id) and `caller`, who is asking, set once by the identify middleware (server/auth.ts).
 */
export interface AppEnv {
  Bindings: HttpBindings;
  /** `authProblem`: why the request's credentials were refused (REST and GraphQL answer it with their 401). */
  Variables: RequestIdVariables & { caller: Caller; authProblem?: string };
}

/** A group of routes an area adds to the app (createApp mounts every group the composition root lists). */
export interface Routes {
  mount(app: Hono<AppEnv>): void;
}
