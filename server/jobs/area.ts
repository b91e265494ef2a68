import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ensureTrainerBundle } from '../../trainer/build.ts';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Auth } from '../auth.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import type { ModelVerifier, Publisher } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import { bridgeJobEvents, type EventBus } from '../events.ts';
import type { OciTarget } from '../oci/target.ts';
import { mountOpenApi } from './openapi.ts';
import type { ModelNames } from '../attest/model-names.ts';
import { mountJobRoutes } from './routes.ts';
import { DockerRunner } from './runners/docker.ts';
import type { Runner } from './runners/port.ts';
import { ProcessRunner } from './runners/process.ts';
import { JobEventLog } from './event-log.ts';
import { createQueueEngine, isPostgresUrl } from './queue/index.ts';
import type { QueueStats } from './queue/port.ts';
import { type WorkerView, WorkerRegistry } from './queue/workers.ts';
import { localGpuCount } from './gpus.ts';
import { Jobs } from './service.ts';

/** Docker API sockets looked for when AIBOMGEN_RUNNER=auto and none is configured. */
const KNOWN_SOCKETS = ['/var/run/docker.sock', '/run/podman/podman.sock'];

/** Builds the trainer bundle once per process (cheap when it is fresh: only a staleness check). */
let bundle: Promise<string> | undefined;
function trainerBundle(): Promise<string> {
  bundle ??= ensureTrainerBundle().then((b) => join(b.outDir, 'trainer.mjs'));
  return bundle;
}

async function pickRunner(
  config: Config,
  log: Logger,
  registry: OciTarget,
  registryHost: () => string,
): Promise<Runner> {
  const want = config.runner;
  const socket = config.dockerSocket ?? KNOWN_SOCKETS.find((p) => existsSync(p));
  if (want === 'docker' || (want === 'auto' && socket)) {
    if (!socket)
      throw new Error(
        'AIBOMGEN_RUNNER=docker but no Docker API socket: set AIBOMGEN_DOCKER_SOCKET or DOCKER_HOST=unix://…',
      );
    const runner = new DockerRunner({ socketPath: socket, registry, registryHost, trainerAuto: config.trainerAuto });
    try {
      log.info({ socket, runtime: await runner.describeRuntime() }, 'jobs: docker runner');
      return runner;
    } catch (e) {
      if (want === 'docker')
        throw new Error(`the container engine at ${socket} does not answer: ${(e as Error).message}`);
      log.warn(
        { socket, err: (e as Error).message },
        'jobs: container engine unreachable, falling back to the process runner',
      );
    }
  }
  log.warn('jobs: process runner — jobs run as child processes WITHOUT container isolation');
  return new ProcessRunner(trainerBundle);
}

export interface JobsDeps {
  config: Config;
  db: Db;
  log: Logger;
  events: EventBus;
  auth: Auth;
  publisher: Publisher;
  /** The registry in process, acting as the platform: job-inputs transfer, published artifacts/logs of jobs other nodes ran. */
  registry: OciTarget;
  /** Who owns which model name (checked at submission). */
  modelNames: ModelNames;
  /** Recovery keeps an interrupted job's publication only when it is complete and this verifies it. */
  verifier: ModelVerifier;
  /** The key this node signs its jobs' evidence with, and whether it may take jobs now (server/attest). */
  signing?: { keyId: string | null; mayRunJobs(): Promise<boolean> };
}

export interface JobsArea {
  /** The job service (JobService, plus what the REST edge needs: runner kind, stored log lines). */
  readonly jobs: Jobs;
  /** /developer/* (REST + SSE), /openapi.json and /docs. */
  mount(app: Hono<AppEnv>): void;
  /** Recovery of jobs a crash cut off, then the first scheduling round: call once everything is built. */
  start(): Promise<void>;
  /** Stops scheduling, aborts the jobs running here and waits for them, closes the runner. */
  close(): Promise<void>;
  /** The operators' view: the queue's depth and age, and every worker's heartbeat (server/jobs/queue/). */
  readonly queue: { stats(): Promise<QueueStats>; workers(): Promise<WorkerView[]> };
}

/** Job queue, scheduler, runners and the developer REST API (owner: server/jobs). Runs nothing until `start()`. */
export async function createJobsArea(deps: JobsDeps): Promise<JobsArea> {
  const { config } = deps;
  const registryHost = (): string =>
    config.publicUrl ? new URL(config.publicUrl).host : `${config.host}:${config.port}`;
  const runner = await pickRunner(config, deps.log, deps.registry, registryHost);
  const engine = createQueueEngine(config, deps.db, deps.log);
  const leaseMs = config.leaseSeconds * 1000;
  const workers = new WorkerRegistry(deps.db, leaseMs);
  const gpus = await localGpuCount(); // AIBOMGEN_WORKER_GPUS, else nvidia-smi: what the GPU check at submission counts
  // Several nodes on one Postgres: job events travel between them by LISTEN/NOTIFY.
  const eventLog = new JobEventLog(deps.db, deps.events);
  const bridge = isPostgresUrl(config.databaseUrl)
    ? await bridgeJobEvents(
        deps.events,
        config.databaseUrl,
        async (jobId, seq) => (await eventLog.replay(jobId, seq - 1)).find((e) => e.seq === seq),
        (err) => deps.log.warn({ err }, 'events: cross-node bridge'),
      )
    : undefined;
  const jobs = new Jobs({
    dataDir: config.dataDir,
    db: deps.db,
    events: deps.events,
    log: deps.log,
    runner,
    publisher: deps.publisher,
    registry: deps.registry,
    concurrency: config.jobConcurrency ?? Math.max(1, gpus),
    limits: {
      timeoutMs: config.jobTimeoutSeconds * 1000,
      memoryBytes: config.jobMemoryBytes,
      logBytes: config.jobLogBytes,
      outputBytes: config.jobOutputBytes,
      cpus: config.jobCpus,
      pids: config.jobPids,
    },
    // Across hosts a dead worker's job is re-run (at least once), as pg-boss retries it.
    requeueInterrupted: config.requeueInterrupted || engine.kind === 'pg-boss',
    engine,
    leaseMs,
    workers,
    workerInfo: { host: hostname(), gpus, keyId: deps.signing?.keyId ?? null },
    ...(deps.signing ? { mayClaim: () => deps.signing!.mayRunJobs() } : {}),
    crossNodeEvents: bridge !== undefined,
    role: config.role,
    workerId: config.workerId ?? hostname(),
    pushInputs: config.jobInputs === 'registry',
    authEnabled: deps.auth.enabled,
    publications: {
      db: deps.db,
      registry: deps.registry,
      verifier: deps.verifier,
      namespace: config.trustedNamespace,
      // As the publisher prints references (attest/area.ts): read when used, the port is known only after listen.
      registryHost,
    },
  });
  return {
    jobs,
    mount(app) {
      mountJobRoutes(app, { config, jobs, auth: deps.auth, registry: deps.registry, modelNames: deps.modelNames });
      mountOpenApi(app);
    },
    start: () => jobs.start(),
    close: async () => {
      await jobs.close();
      await bridge?.close();
    },
    queue: { stats: () => engine.stats(), workers: () => workers.list() },
  };
}
