import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { ensureTrainerBundle } from '../../trainer/build.ts';
import { ensureTrainerImage, trainerImageSpec } from '../../trainer/image/spec.ts';
import { authOf } from '../auth.ts';
import { internalFetch, INTERNAL_BASE_URL, type Area, type Services } from '../context.ts';
import { DockerRunner } from './runners/docker.ts';
import type { Runner } from './runners/port.ts';
import { ProcessRunner } from './runners/process.ts';
import { mountJobRoutes } from './routes.ts';
import { mountOpenApi } from './openapi.ts';
import { Jobs } from './service.ts';
import { OciClient } from '../oci/client.ts';

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

async function pickRunner(s: Services): Promise<Runner> {
  const want = s.config.runner;
  const socket = s.config.dockerSocket ?? KNOWN_SOCKETS.find((p) => existsSync(p));
  if (want === 'docker' || (want === 'auto' && socket)) {
    if (!socket) throw new Error('AIBOMGEN_RUNNER=docker but no Docker API socket: set AIBOMGEN_DOCKER_SOCKET or DOCKER_HOST=unix://…');
    const runner = new DockerRunner({
      socketPath: socket,
      trainer: async () => {
        const spec = trainerImageSpec({ distDir: dirname(await trainerBundle()) });
        await ensureTrainerImage(spec.image);
        return spec;
      },
    });
    try {
      s.log.info({ socket, runtime: await runner.describeRuntime() }, 'jobs: docker runner');
      return runner;
    } catch (e) {
      if (want === 'docker') throw new Error(`the container engine at ${socket} does not answer: ${(e as Error).message}`);
      s.log.warn({ socket, err: (e as Error).message }, 'jobs: container engine unreachable, falling back to the process runner');
    }
  }
  s.log.warn('jobs: process runner — jobs run as child processes WITHOUT container isolation');
  return new ProcessRunner(trainerBundle);
}

/** Job queue, runners and the developer REST API; registers `jobs` (owner: server/jobs). */
export async function setupJobs(s: Services): Promise<Area> {
  const runner = await pickRunner(s);
  const jobs = new Jobs(s, {
    runner,
    concurrency: s.config.jobConcurrency ?? Math.max(1, await gpuCount()),
    timeoutMs: s.config.jobTimeoutSeconds * 1000,
    memoryBytes: s.config.jobMemoryBytes,
    logBytes: s.config.jobLogBytes,
    outputBytes: s.config.jobOutputBytes,
    cpus: s.config.jobCpus,
    pids: s.config.jobPids,
    requeueInterrupted: s.config.requeueInterrupted,
    role: s.config.role,
    workerId: s.config.workerId ?? hostname(),
    // The in-process /v2/ front on the store every node shares.
    inputsVia: new OciClient(INTERNAL_BASE_URL, { fetch: internalFetch(s, 'jobs') }),
    pushInputs: s.config.jobInputs === 'registry',
  });
  s.jobs = jobs;
  await jobs.start();
  return {
    name: 'jobs',
    mount(app) {
      mountJobRoutes(app, s, jobs, authOf(s));
      mountOpenApi(app);
    },
    close: () => jobs.close(),
  };
}
