import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTrainerBundle } from '../../trainer/build.ts';
import { ensureTrainerImage, trainerImageSpec } from '../../trainer/image/spec.ts';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Auth } from '../auth.ts';
import type { Config } from '../config.ts';
import type { AppEnv } from '../context.ts';
import type { Publisher } from '../contracts.ts';
import type { Db } from '../db/connect.ts';
import type { EventBus } from '../events.ts';
import type { OciTarget } from '../oci/target.ts';
import { mountOpenApi } from './openapi.ts';
import type { ModelNames } from '../attest/model-names.ts';
import { mountJobRoutes } from './routes.ts';
import { DockerRunner } from './runners/docker.ts';
import type { Runner } from './runners/port.ts';
import { ProcessRunner } from './runners/process.ts';
import { Jobs } from './service.ts';

/** Docker API sockets looked for when AIBOMGEN_RUNNER=auto and none is configured. */
const KNOWN_SOCKETS = ['/var/run/docker.sock', '/run/podman/podman.sock'];

/** Builds the trainer bundle once per process (cheap when it is fresh: only a staleness check). */
let bundle: Promise<string> | undefined;
function trainerBundle(): Promise<string> {
  bundle ??= ensureTrainerBundle().then((b) => join(b.outDir, 'trainer.mjs'));
  return bundle;
}

/** Number of NVIDIA GPUs (0 when nvidia-smi is absent): the default concurrency is one job per GPU. */
async function gpuCount(): Promise<number> {
  try {
    const { stdout } = await promisify(execFile)('nvidia-smi', ['-L'], { timeout: 5000 });
    return stdout.split('\n').filter((l) => l.startsWith('GPU ')).length;
  } catch {
    return 0;
  }
}

async function pickRunner(config: Config, log: Logger): Promise<Runner> {
  const want = config.runner;
  const socket = config.dockerSocket ?? KNOWN_SOCKETS.find((p) => existsSync(p));
  if (want === 'docker' || (want === 'auto' && socket)) {
    if (!socket)
      throw new Error(
        'AIBOMGEN_RUNNER=docker but no Docker API socket: set AIBOMGEN_DOCKER_SOCKET or DOCKER_HOST=unix://…',
      );
    const runner = new DockerRunner({
      socketPath: socket,
      trainer: async () => {
        const spec = trainerImageSpec({ distDir: dirname(await trainerBundle()) });
        await ensureTrainerImage(spec.image);
        return spec;
      },
    });
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
}

/** Job queue, scheduler, runners and the developer REST API (owner: server/jobs). Runs nothing until `start()`. */
export async function createJobsArea(deps: JobsDeps): Promise<JobsArea> {
  const { config } = deps;
  const runner = await pickRunner(config, deps.log);
  const jobs = new Jobs({
    dataDir: config.dataDir,
    db: deps.db,
    events: deps.events,
    log: deps.log,
    runner,
    publisher: deps.publisher,
    registry: deps.registry,
    concurrency: config.jobConcurrency ?? Math.max(1, await gpuCount()),
    limits: {
      timeoutMs: config.jobTimeoutSeconds * 1000,
      memoryBytes: config.jobMemoryBytes,
      logBytes: config.jobLogBytes,
      outputBytes: config.jobOutputBytes,
      cpus: config.jobCpus,
      pids: config.jobPids,
    },
    requeueInterrupted: config.requeueInterrupted,
    role: config.role,
    workerId: config.workerId ?? hostname(),
    pushInputs: config.jobInputs === 'registry',
    authEnabled: deps.auth.enabled,
  });
  return {
    jobs,
    mount(app) {
      mountJobRoutes(app, { config, jobs, auth: deps.auth, registry: deps.registry, modelNames: deps.modelNames });
      mountOpenApi(app);
    },
    start: () => jobs.start(),
    close: () => jobs.close(),
  };
}
