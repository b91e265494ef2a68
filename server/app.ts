import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import pino from 'pino';
import { apiErrorResponse, HttpError } from './api-error.ts';
import { setupAttest } from './attest/area.ts';
import type { Config } from './config.ts';
import type { AppEnv, Area, Services } from './context.ts';
import { openDatabase } from './db/connect.ts';
import { createEventBus } from './events.ts';
import { setupGraphql } from './graphql/area.ts';
import { setupJobs } from './jobs/area.ts';
import { setupLineage } from './lineage/area.ts';
import { setupOps } from './ops/area.ts';
import { requestLog } from './ops/request-log.ts';
import { setupRegistry } from './registry/area.ts';
import { createStore } from './registry/store/index.ts';
import { setupWeb } from './web/area.ts';

/** Area start order: later areas use what earlier ones registered on `Services`. */
const areaSetups: Array<(s: Services) => Promise<Area>> = [
  setupRegistry, // /v2/
  setupLineage, // listens to manifest events
  setupAttest, // registers publisher + verifier, /verifier/*
  setupJobs, // registers jobs, /developer/*, /openapi.json, /docs
  setupGraphql, // /graphql
  setupOps, // /metrics, /readyz
  setupWeb, // / (dashboard) — last: it may serve a catch-all
];

const started = new WeakMap<Services, Area[]>();

/** Opens the database and the registry store named by `config`, then starts every area. */
export async function createServices(config: Config, log = pino({ level: process.env.LOG_LEVEL ?? 'info' })): Promise<Services> {
  const db = await openDatabase(config.databaseUrl);
  const store = await createStore(config, db);
  const services: Services = { config, db, store, log, events: createEventBus() };
  const areas: Area[] = [];
  started.set(services, areas);
  try {
    for (const setup of areaSetups) areas.push(await setup(services));
  } catch (e) {
    await closeServices(services);
    throw e;
  }
  return services;
}

/** The whole HTTP surface: each area mounts its routes on one Hono app. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use('*', async (c, next) => {
    c.set('requestId', c.req.header('x-request-id') ?? randomUUID());
    await next();
    // A response streamed to the socket by its handler (registry/node-io.ts) carries the header already.
    if (!c.env?.outgoing?.headersSent) c.header('X-Request-Id', c.get('requestId'));
  });
  app.use('*', requestLog(services));
  // REST errors (HttpError) answer the ApiError JSON; anything else is logged and answers a bare 500.
  app.onError((err, c) => {
    if (err instanceof HttpError) return apiErrorResponse(c, err);
    services.log.error({ err, method: c.req.method, path: c.req.path, requestId: c.get('requestId') }, 'unhandled error');
    return apiErrorResponse(c, new HttpError(500, 'internal', 'internal error'));
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  for (const area of started.get(services) ?? []) area.mount?.(app);
  services.selfFetch = async (req) => app.fetch(req);
  return app;
}

export async function closeServices(s: Services): Promise<void> {
  const areas = started.get(s) ?? [];
  for (const area of [...areas].reverse()) {
    try {
      await area.close?.();
    } catch (e) {
      s.log.error({ err: e, area: area.name }, 'area close failed');
    }
  }
  started.delete(s);
  await s.store.close();
  await s.db.destroy();
}

/** On the first SIGINT or SIGTERM: `first()` (stop listening), close the services, exit 0. Later signals wait for it. */
export function closeOnSignals(s: Services, first?: () => void): void {
  let closing = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (closing) return;
      closing = true;
      first?.();
      void closeServices(s).finally(() => process.exit(0));
    });
  }
}
