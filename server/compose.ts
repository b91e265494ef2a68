import pino, { type Logger } from 'pino';
import { type AttestArea, createAttestArea } from './attest/area.ts';
import { Auth } from './auth.ts';
import type { Config } from './config.ts';
import type { Routes } from './context.ts';
import type { ModelVerifier, Publisher } from './contracts.ts';
import { type Db, openDatabase } from './db/connect.ts';
import { createEventBus, type EventBus } from './events.ts';
import { createGraphqlArea } from './graphql/area.ts';
import { PLATFORM } from './identity.ts';
import { createJobsArea } from './jobs/area.ts';
import type { Jobs } from './jobs/service.ts';
import { createLineageIndex, type LineageIndex } from './lineage/area.ts';
import { opsRoutes } from './ops/area.ts';
import { createMetrics, type PlatformMetrics } from './ops/metrics.ts';
import { registryRoutes } from './registry/routes.ts';
import { RegistryService } from './registry/service.ts';
import { createStore } from './registry/store/index.ts';
import type { RegistryStore } from './registry/store/port.ts';
import { createWebArea } from './web/area.ts';

/**
 * The whole platform as one typed object graph, built by `compose` in dependency order. Nothing in it is
 * filled in later and nothing reaches another part through the HTTP port: the server (server/main.ts), the
 * worker (server/worker.ts), the CLI's in-process demo and the tests all start from here.
 *
 *   db, store, events, auth
 *     └─ registry (RegistryService: the one access check)      ← /v2/
 *          ├─ attest (publisher, verifier; registry.as(PLATFORM)) ← /verifier/*
 *          ├─ lineage (follows registry and job events)
 *          └─ jobs (queue, scheduler, executor → publisher)     ← /developer/*
 *               └─ graphql (jobs, verifier, lineage, registry)  ← /graphql
 *   metrics, web                                                ← /metrics /readyz, /
 */
export interface Platform {
  readonly config: Config;
  readonly log: Logger;
  readonly db: Db;
  readonly events: EventBus;
  readonly auth: Auth;
  readonly store: RegistryStore;
  readonly registry: RegistryService;
  readonly publisher: Publisher;
  /** The verifier every surface uses (counted in /metrics). */
  readonly verifier: ModelVerifier;
  readonly lineage: LineageIndex;
  readonly jobs: Jobs;
  readonly metrics: PlatformMetrics;
  /** Route groups in mount order (createApp mounts them). */
  readonly routes: ReadonlyArray<Routes>;
  /** Stops jobs, indexing and connections, in reverse build order. */
  close(): Promise<void>;
}

/** Builds every service from the configuration; jobs start running only once everything exists. */
export async function compose(
  config: Config,
  log: Logger = pino({ level: process.env.LOG_LEVEL ?? 'info' }),
): Promise<Platform> {
  const closers: Array<() => Promise<void> | void> = [];
  const close = async (): Promise<void> => {
    for (const f of closers.splice(0).reverse()) {
      try {
        await f();
      } catch (err) {
        log.error({ err }, 'close failed');
      }
    }
  };
  try {
    const db = await openDatabase(config.databaseUrl);
    closers.push(() => db.destroy());
    const store = await createStore(config, db);
    closers.push(() => store.close());
    const events = createEventBus();
    const auth = new Auth(config);
    const metrics = createMetrics({ db, events });
    closers.push(() => metrics.stop());

    const registry = new RegistryService({
      store,
      db,
      events,
      log,
      maxManifestBytes: config.maxManifestBytes,
      policy: { authEnabled: auth.enabled, anonymousPull: config.anonymousPull },
    });
    const attest: AttestArea = await createAttestArea({ config, log, registry: registry.as(PLATFORM) });
    const verifier = metrics.countVerifications(attest.verifier);
    const lineage = await createLineageIndex({ db, log, events, registry, verifier });
    closers.push(() => lineage.close());
    const jobsArea = await createJobsArea({
      config,
      db,
      log,
      events,
      auth,
      publisher: attest.publisher,
      registry: registry.as(PLATFORM),
    });
    closers.push(() => jobsArea.close());
    const graphql = createGraphqlArea({ config, db, log, auth, jobs: jobsArea.jobs, verifier, registry, lineage });
    const web = await createWebArea({ config, log });
    const routeDeps = { registry, log, maxManifestBytes: config.maxManifestBytes };

    const platform: Platform = {
      config,
      log,
      db,
      events,
      auth,
      store,
      registry,
      publisher: attest.publisher,
      verifier,
      lineage,
      jobs: jobsArea.jobs,
      metrics,
      routes: [
        { mount: (app) => app.route('/v2', registryRoutes(routeDeps)) },
        { mount: (app) => attest.mount(app, verifier) },
        jobsArea,
        graphql,
        opsRoutes({ db, store, log, metrics }),
        web, // last: it may serve a catch-all
      ],
      close,
    };
    await jobsArea.start();
    return platform;
  } catch (e) {
    await close();
    throw e;
  }
}
