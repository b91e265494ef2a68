/**
 * Issue 17 (A), compose-shaped: an API node and a separate `aibomgen worker` process that runs jobs in
 * containers through the engine's socket (AIBOMGEN_RUNNER=docker), sharing with the API node only the
 * database, the registry (a real distribution) and the keys directory. The worker's data directory is a path
 * the engine is never told about: the job's inputs go into the container with putArchive and its output
 * comes back with getArchive. While the job runs, its container is inspected: no bind, no mount of the keys
 * directory, network none; and no key file is in its filesystem (getArchive of the likely paths: 404).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KEY_FILES } from '../../server/attest/keys.ts';
import { jobDir } from '../../server/jobs/paths.ts';
import { startDistribution } from '../helpers/distribution.ts';
import { approveWorker, submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { inspectWhileRunning } from './image-helpers.ts';

const podman = await startPodman();
const up = await startDistribution();
const shared = await mkdtemp(join(tmpdir(), 'aibomgen-compose-'));
const keysDir = join(shared, 'keys');
const common = {
  registryStore: 'upstream',
  upstreamUrl: up.url,
  keysDir,
  databaseUrl: join(shared, 'aibomgen.db'),
} as const;
const api = await startTestServer({ ...common, role: 'api', runner: 'process', jobInputs: 'registry' });
const workerData = await mkdtemp(join(tmpdir(), 'aibomgen-container-worker-'));
const worker = spawn(process.execPath, ['cli/bin.js', 'worker', '--data-dir', workerData, '--id', 'boxed'], {
  env: {
    ...process.env,
    AIBOMGEN_AUTH: 'off',
    AIBOMGEN_RUNNER: 'docker',
    AIBOMGEN_DOCKER_SOCKET: podman.socketPath,
    AIBOMGEN_PUBLIC_URL: api.url,
    LOG_LEVEL: 'warn',
    AIBOMGEN_REGISTRY_STORE: 'upstream',
    AIBOMGEN_UPSTREAM_URL: up.url,
    // As in docker-compose.yml: the worker signs with its own key (in its data directory), never the platform's.
    AIBOMGEN_WORKER_KEYS: 'own',
    AIBOMGEN_KEYS_DIR: join(workerData, 'keys'),
    AIBOMGEN_DATABASE_URL: common.databaseUrl,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
test.after(async () => {
  worker.kill('SIGTERM');
  await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
  await api.close();
  await up.stop();
  await podman.stop();
  await rm(shared, { recursive: true, force: true });
  await rm(workerData, { recursive: true, force: true });
});

/** Paths where a key could show up inside the job's container (as the host has them, or mounted). */
const keyPaths = [
  ...Object.values(KEY_FILES).map((f) => join(keysDir, f)),
  keysDir,
  workerData,
  `/keys/${KEY_FILES.platformKey}`,
  `/data/keys/${KEY_FILES.platformKey}`,
  `/run/secrets/${KEY_FILES.platformKey}`,
];

test('a worker runs a job in a container with no host path and no key, via put/getArchive, and publishes it', async () => {
  assert.ok(existsSync(join(keysDir, KEY_FILES.platformKey)), 'the platform key exists on the host');
  await approveWorker(api.url, 'boxed');
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-compose-in-'));
  const { status, body } = await submit(api.url, await tabularForm(work, { epochs: 40, name: 'boxed-model' }));
  assert.equal(status, 202, JSON.stringify(body));
  const found: Record<string, number | string> = {};
  const { result: job, seen } = await inspectWhileRunning(
    podman.docker,
    body.job_id,
    waitForState(api.url, body.job_id),
    async (c) => {
      for (const p of [...keyPaths, '/input/dataset.csv'])
        found[p] = await c.getArchive({ path: p }).then(
          (s) => {
            (s as NodeJS.ReadableStream).resume();
            return 'FOUND';
          },
          (e: { statusCode?: number }) => e.statusCode ?? String(e),
        );
    },
  );
  assert.equal(job.status, 'succeeded', job.reason);
  const row = await api.services.db
    .selectFrom('jobs')
    .select('worker')
    .where('id', '=', body.job_id)
    .executeTakeFirstOrThrow();
  assert.equal(row.worker, 'boxed', 'run by the container worker');
  assert.equal(job.runner?.kind, 'docker');
  assert.match(job.publication?.ref ?? '', /\/models\/boxed-model:1\.0\.0$/);

  assert.equal(seen.length, 1, 'the job container was seen running');
  const c = seen[0]!;
  assert.equal(c.HostConfig.NetworkMode, 'none');
  const mounts = c.Mounts as { Type: string; Destination: string; Source?: string }[];
  assert.deepEqual(mounts.map((m) => `${m.Type}:${m.Destination}`).sort(), ['volume:/input', 'volume:/output']);
  for (const m of mounts) assert.ok(!m.Source?.startsWith(keysDir) && !m.Source?.startsWith(workerData), m.Source);
  for (const b of c.HostConfig.Binds ?? []) assert.doesNotMatch(b, /^\//, `a host path is bound: ${b}`);
  assert.deepEqual(
    found,
    { ...Object.fromEntries(keyPaths.map((p) => [p, 404])), '/input/dataset.csv': 'FOUND' },
    'no key path exists in the container (and the probe does see the inputs)',
  );
  // The worker copied /output out into its own data directory (the engine never saw that path).
  const metrics = JSON.parse(await readFile(join(jobDir(workerData, body.job_id), 'output', 'metrics.json'), 'utf8'));
  assert.equal(typeof metrics, 'object');
  await rm(work, { recursive: true, force: true });
});
