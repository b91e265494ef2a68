import pino, { type Logger } from 'pino';
import { type AttestArea, createAttestArea } from './attest/area.ts';
import { ModelNames } from './attest/model-names.ts';
import { INPUT_NAMESPACES } from './attest/publisher.ts';
import { createPullGate } from './attest/pull-gate.ts';
import { AuditLog } from './audit/log.ts';
import { INTERNAL_NAMESPACE } from './jobs/input-transfer.ts';
import { Auth } from './auth.ts';
import { bootstrapAdmin } from './auth/bootstrap.ts';
import { RegistryTokens } from './auth/registry-tokens.ts';
import { createOidcArea } from './auth/routes-oidc.ts';
import { authRoutes } from './auth/routes.ts';
import { StaticTokens } from './auth/static-tokens.ts';
import { ApiTokens } from './auth/tokens.ts';
import type { Config } from './config.ts';
import type { Routes } from './context.ts';
import type { ModelVerifier, Publisher } from './contracts.ts';
import { type Db, openDatabase } from './db/connect.ts';
import { createEventBus, type EventBus } from './events.ts';
import { createGraphqlArea } from './graphql/area.ts';
import { type Caller, PLATFORM } from './identity.ts';
import { fencedTarget } from './jobs/queue/fence.ts';
import { createJobsArea, type JobsArea } from './jobs/area.ts';
import { registerQueueMetrics } from './jobs/queue/metrics.ts';
import { JobQueue } from './jobs/queue.ts';
import type { Jobs } from './jobs/service.ts';
import { createLineageIndex, type LineageIndex } from './lineage/area.ts';
import { keyHint } from './attest/dsse.ts';
import { opsRoutes } from './ops/area.ts';
import { createMetrics, type PlatformMetrics } from './ops/metrics.ts';
import { FairUse } from './ops/rate-limit.ts';
import { parseGrants } from './registry/access.ts';
import { reconcileRegistry } from './registry/reconcile.ts';
import { registryRoutes, registrySafeServing } from './registry/routes.ts';
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
  /** Who owns which model name. */
  readonly modelNames: ModelNames;
  readonly jobs: Jobs;
  /** The queue's depth and its workers' heartbeats (the operators' view: GraphQL, /metrics, dashboard). */
  readonly queue: JobsArea['queue'];
  readonly metrics: PlatformMetrics;
  /** Every mutating call and refusal (server/audit); createApp mounts its middleware. */
  readonly audit: AuditLog;
  /** Rate limits per identity and the per-owner queued-jobs cap (server/ops/rate-limit.ts). */
  readonly fairUse: FairUse;
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
    const audit = new AuditLog(db, log);
    closers.push(() => audit.close()); // after the jobs and before the database close: nothing recorded is lost
    const fairUse = new FairUse({ config, queuedCount: (owner) => new JobQueue(db).queuedCount(owner) });
    closers.push(() => fairUse.close());
    const store = await createStore(config, db);
    closers.push(() => store.close());
    const events = createEventBus();
    const tokens = new ApiTokens(db, config.admins);
    const registryTokens = RegistryTokens.open(config.keysDir);
    // Asked in this order by the identify middleware (OIDC bearer tokens and the dashboard session join here).
    const oidc = createOidcArea({ config, db, log }); // last in the chain: its bearer resolver claims any JWT left
    const resolvers = [
      new StaticTokens(config.tokens, (o) => tokens.isConfiguredAdmin(o)),
      tokens,
      registryTokens,
      ...oidc.resolvers,
    ];
    const auth = new Auth(config, resolvers, tokens, registryTokens);
    if (!auth.enabled)
      log.warn('authentication is OFF (AIBOMGEN_AUTH=off): a development switch, never expose this server');
    await bootstrapAdmin(config, tokens, log);
    const metrics = createMetrics({ db, events });
    closers.push(() => metrics.stop());

    const registry = new RegistryService({
      store,
      db,
      events,
      log,
      maxManifestBytes: config.maxManifestBytes,
      policy: {
        authEnabled: auth.enabled,
        anonymousPull: config.anonymousPull,
        // What the publisher writes: the trained models and the inputs it publishes beside them.
        platformNamespaces: [config.trustedNamespace, ...INPUT_NAMESPACES],
        internalNamespaces: [INTERNAL_NAMESPACE],
        grants: parseGrants(config.namespaceGrants),
      },
    });
    // Before anything reads the index: what a kill -9 left half-done in it is made to agree with the store.
    await reconcileRegistry({
      db,
      store,
      registry,
      log,
      platformNamespaces: [config.trustedNamespace, ...INPUT_NAMESPACES],
      // SQLite: this process alone writes the index. Postgres: other nodes may be mid-PUT while this one starts.
      graceMs: /^postgres(ql)?:/.test(config.databaseUrl) ? 10 * 60_000 : 0,
    });
    const modelNames = new ModelNames(db, config.trustedNamespace);
    // The publisher writes through the fenced registry: a job's run pushes manifests only while it still holds
    // the job's lease, and removes what a dead run of the job pushed (jobs/queue/fence.ts).
    const fencedRegistry = {
      as: (caller: Caller) => fencedTarget(registry.as(caller)),
      authorize: (caller: Caller, repo: string, action: 'pull') => registry.authorize(caller, repo, action),
    };
    const attest: AttestArea = await createAttestArea({
      config,
      db,
      log,
      registry: fencedRegistry,
      modelNames,
      authEnabled: auth.enabled,
      // A revoked worker key: what it signed stops counting in the lineage index too (its `trust` answers).
      onRevoked: async (pem) => {
        await lineage.untrustSigner(keyHint(pem), 'signed by a revoked worker key');
      },
    });
    const verifier = metrics.countVerifications(attest.verifier);
    const lineage = await createLineageIndex({
      db,
      log,
      events,
      registry,
      verifier,
      trustedKey: attest.signers,
    });
    closers.push(() => lineage.close());
    const jobsArea = await createJobsArea({
      config,
      db,
      log,
      events,
      auth,
      publisher: attest.publisher,
      registry: registry.as(PLATFORM),
      modelNames,
      verifier: attest.verifier,
      signing: attest.signing,
    });
    closers.push(() => jobsArea.close());
    registerQueueMetrics(metrics.registry, jobsArea.queue);
    const graphql = createGraphqlArea({
      config,
      db,
      log,
      auth,
      jobs: jobsArea.jobs,
      verifier,
      registry,
      lineage,
      modelNames,
      queue: jobsArea.queue,
    });
    const web = await createWebArea({ config, log });
    const routeDeps = {
      registry,
      log,
      maxManifestBytes: config.maxManifestBytes,
      blobRedirect: config.registryBlobRedirect,
      ...(config.pullPolicy === 'verified' ? { pullGate: createPullGate(verifier, config.trustedNamespace) } : {}),
    };

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
      modelNames,
      jobs: jobsArea.jobs,
      queue: jobsArea.queue,
      metrics,
      audit,
      fairUse,
      routes: [
        registrySafeServing, // first: nosniff and a sandboxing CSP on every /v2 answer, other areas' included
        oidc.routes, // /auth/*, and the session cookie's CSRF guard in front of every other route
        authRoutes({ auth, registry, log, publicUrl: config.publicUrl }), // before /v2/: it wraps its challenges
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
