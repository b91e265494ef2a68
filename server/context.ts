import type { HttpBindings } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { Db } from './db/connect.ts';
import type { RegistryStore } from './registry/store/port.ts';

/** What every route can reach: built once in `createServices`, passed to each sub-app. */
export interface Services {
  config: Config;
  db: Db;
  store: RegistryStore;
  log: Logger;
}

/** Hono environment: node bindings (the raw request/response, for streaming) plus per-request variables. */
export interface AppEnv {
  Bindings: HttpBindings;
  Variables: { requestId: string };
}
