/**
 * Scale-out without a shared data directory (what workers on other hosts have): the API node and the worker
 * share only the database, the registry (a real distribution behind both fronts) and the keys directory
 * (AIBOMGEN_KEYS_DIR, a mounted secret in a real install). With AIBOMGEN_JOB_INPUTS=registry on the API node
 * the inputs travel through the registry: the worker pulls them into its own data directory, runs the job,
 * publishes, and the artifact is deleted afterwards; the API node lists and serves the job's output files from the
 * published model and its log lines from the events. Without it, the worker fails the job saying why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listFiles } from '../../server/attest/hash.ts';
import { jobDir } from '../../server/jobs/paths.ts';
import { startDistribution } from '../helpers/distribution.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer } from '../helpers/server.ts';

const up = await startDistribution();
const shared = await mkdtemp(join(tmpdir(), 'aibomgen-hosts-'));
const common = {
  runner: 'process',
  registryStore: 'upstream',
  upstreamUrl: up.url,
  keysDir: join(shared, 'keys'),
  databaseUrl: join(shared, 'aibomgen.db'),
  role: 'api',
} as const;
const api = await startTestServer({ ...common, jobInputs: 'registry' });
// A second API node left at the default (inputs stay in its data directory): its jobs cannot reach the worker.
const apiShared = await startTestServer({ ...common, jobInputs: 'shared' });
const workerData = await mkdtemp(join(tmpdir(), 'aibomgen-far-worker-'));
const worker = spawn(process.execPath, ['cli/bin.js', 'worker', '--data-dir', workerData, '--id', 'far'], {
  env: {
    ...process.env,
    AIBOMGEN_AUTH: 'off', // as on its API nodes (startTestServer)
    AIBOMGEN_RUNNER: 'process',
    AIBOMGEN_PUBLIC_URL: api.url,
    LOG_LEVEL: 'warn',
    AIBOMGEN_REGISTRY_STORE: 'upstream',
    AIBOMGEN_UPSTREAM_URL: up.url,
    AIBOMGEN_KEYS_DIR: common.keysDir,
    // The keys directory is shared (a mounted secret): the worker signs with its platform key.
    AIBOMGEN_WORKER_KEYS: 'platform',
    AIBOMGEN_DATABASE_URL: common.databaseUrl,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
test.after(async () => {
  worker.kill('SIGTERM');
  await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
  await api.close();
  await apiShared.close();
  await up.stop();
  await rm(shared, { recursive: true, force: true });
  await rm(workerData, { recursive: true, force: true });
});

const sha256 = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

test('a worker with its own data directory pulls the inputs from the registry, runs and publishes the job', async () => {
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-hosts-in-'));
  const { status, body } = await submit(api.url, await tabularForm(work, { epochs: 2, name: 'far-model' }));
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(api.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason ?? undefined);
  const row = await api.services.db
    .selectFrom('jobs')
    .select('worker')
    .where('id', '=', body.job_id)
    .executeTakeFirstOrThrow();
  assert.equal(row.worker, 'far', 'run by the worker, not an API node');
  const here = join(jobDir(api.dataDir, body.job_id), 'input');
  const there = join(jobDir(workerData, body.job_id), 'input');
  for (const f of ['dataset.csv', 'dataset_definition.yaml', 'params.json', 'model/model.json']) {
    assert.ok(existsSync(join(there, f)), `${f} pulled into the worker's own data directory`);
    assert.equal(await sha256(join(there, f)), await sha256(join(here, f)), `${f} byte-identical`);
  }
  // Signed with the shared keys: the API node verifies what the worker published.
  const verify = await fetch(`${api.url}/verifier/verify/models/far-model:1.0.0`);
  assert.equal(verify.status, 200, await verify.text());
  // Its outputs and logs are on the worker's host: the API node answers from the published model and the events.
  const outDir = join(jobDir(workerData, body.job_id), 'output');
  assert.ok(!existsSync(join(jobDir(api.dataDir, body.job_id), 'output')), 'no output on the API node');
  const listed = (await (await fetch(`${api.url}/developer/job_artifacts/${body.job_id}`)).json()) as {
    artifacts: { name: string; size: number; digest: string }[];
  };
  const names = listed.artifacts.map((a) => a.name).sort();
  assert.deepEqual(names, await listFiles(outDir), 'every file the worker wrote to /output');
  assert.ok(names.includes('model/model.json'), names.join(', '));
  for (const a of listed.artifacts)
    assert.equal(
      a.digest,
      `sha256:${await sha256(join(outDir, a.name))}`,
      `${a.name} listed with the worker's file digest`,
    );
  const got = await fetch(`${api.url}/developer/job_artifacts/${body.job_id}/metrics.json`);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), await readFile(join(outDir, 'metrics.json'), 'utf8'), 'downloaded byte-identical');
  assert.equal((await fetch(`${api.url}/developer/job_artifacts/${body.job_id}/nothing.bin`)).status, 404);
  const logs = await (await fetch(`${api.url}/developer/jobs/${body.job_id}/logs`)).text();
  assert.match(logs, /another node ran it/);
  assert.match(logs, /"type":"start"/, "the trainer's start line, stored as a log event");
  const left = await fetch(`${api.url}/v2/aibomgen/job-inputs/manifests/${body.job_id}`, {
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(left.status, 404, 'the inputs artifact is deleted once the job ended');
  await rm(work, { recursive: true, force: true });
});

test("inputs left in another node's data directory: the worker fails the job and says why", async () => {
  const work = await mkdtemp(join(tmpdir(), 'aibomgen-hosts-in-'));
  const { status, body } = await submit(apiShared.url, await tabularForm(work, { epochs: 2, name: 'stranded' }));
  assert.equal(status, 202, JSON.stringify(body));
  const job = await waitForState(apiShared.url, body.job_id);
  assert.equal(job.status, 'failed');
  assert.match(job.reason ?? '', /^inputs unavailable: .*AIBOMGEN_JOB_INPUTS=registry/);
  await rm(work, { recursive: true, force: true });
});
