import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import pino from 'pino';
import type { Config } from './config.ts';
import type { AppEnv, Services } from './context.ts';
import { openDatabase } from './db/connect.ts';
import { registryRoutes } from './registry/routes.ts';
import { createStore } from './registry/store/index.ts';

/** Opens the database and the registry store named by `config`. */
export async function createServices(config: Config, log = pino({ level: process.env.LOG_LEVEL ?? 'info' })): Promise<Services> {
  const db = await openDatabase(config.databaseUrl);
  const store = await createStore(config, db);
  return { config, db, store, log };
}

/** The whole HTTP surface: sub-apps mounted on one Hono app. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>({ strict: false });
  app.use('*', async (c, next) => {
    c.set('requestId', c.req.header('x-request-id') ?? randomUUID());
    await next();
    c.header('X-Request-Id', c.get('requestId'));
  });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.route('/v2', registryRoutes());
  void services;
  return app;
}

export async function closeServices(s: Services): Promise<void> {
  await s.store.close();
  await s.db.destroy();
}
