import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { JobService, ModelVerifier, Publisher } from './contracts.ts';
import type { Db } from './db/connect.ts';
import type { EventBus } from './events.ts';
import type { RegistryStore } from './registry/store/port.ts';

/**
 * What every area can reach: the core (config, db, store, log, events) built once in `createServices`,
 * plus the services areas register while they start (see `areas` in `app.ts` for the order).
 */
export interface Services {
  config: Config;
  db: Db;
  store: RegistryStore;
  log: Logger;
  events: EventBus;
  /** Registered by the attest area. */
  publisher?: Publisher;
  /** Registered by the attest area. */
  verifier?: ModelVerifier;
  /** Registered by the jobs area. */
  jobs?: JobService;
  /**
   * The app's own fetch handler, set by `createApp`: lets the platform call its own HTTP API in-process
   * (e.g. the publisher pushes through the /v2/ front so the referrers and lineage indexes see every push),
   * with no port or network involved. Use with base URL `http://aibomgen.internal`.
   */
  selfFetch?: (req: Request) => Promise<Response>;
}

/** Hono environment: node bindings (the raw request/response, for streaming) plus per-request variables. */
export interface AppEnv {
  Bindings: HttpBindings;
  Variables: { requestId: string };
}

/** One area of the platform: started in order by `createServices`, mounted by `createApp`. */
export interface Area {
  name: string;
  /** Adds the area's routes to the app. */
  mount?(app: Hono<AppEnv>): void;
  /** Stops timers, workers and connections; called in reverse start order. */
  close?(): Promise<void>;
}

/** Base URL of requests made in process through `selfFetch`. */
export const INTERNAL_BASE_URL = 'http://aibomgen.internal';

/**
 * `selfFetch` for an area that builds a client before the app exists: `createApp` sets it just after the
 * areas start, and work can begin in between (a worker claims a queued job at once), so a call waits for it.
 */
export function internalFetch(s: Services, area: string): (req: Request) => Promise<Response> {
  return async (req) => {
    for (let i = 0; !s.selfFetch && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
    if (!s.selfFetch) throw new Error(`${area}: the app was not created within 10 s (selfFetch unset)`);
    return s.selfFetch(req);
  };
}
