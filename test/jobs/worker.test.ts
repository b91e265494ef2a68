/**
 * Scale-out shape on one host: an API node (AIBOMGEN_ROLE=api, runs no jobs) and a separate `aibomgen worker`
 * process sharing the database, data directory and registry store. The worker claims and runs the job; the
 * API's SSE stream still shows every epoch (events reach it through the database); the model the worker
 * published verifies through the API; a cancel sent to the API stops the job on the worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent } from '../../server/contracts.ts';
import { startTestServer } from '../helpers/server.ts';
import { submit, tabularForm, waitForFirstEpoch, waitForState } from '../helpers/jobs.ts';

const api = await startTestServer({ role: 'api', runner: 'process' });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-worker-'));
const worker = spawn(process.execPath, ['cli/bin.js', 'worker', '--data-dir', api.dataDir, '--id', 'w1'], {
  // Auth as on its API node (startTestServer: off).
  env: {
    ...process.env,
    AIBOMGEN_AUTH: 'off',
    AIBOMGEN_RUNNER: 'process',
    AIBOMGEN_PUBLIC_URL: api.url,
    // One host, one keys directory: the worker signs with the platform key (own keys: worker-keys.test.ts).
    AIBOMGEN_WORKER_KEYS: 'platform',
    LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
test.after(async () => {
  worker.kill('SIGTERM');
  await new Promise((r) => (worker.exitCode !== null ? r(undefined) : worker.once('exit', r)));
  await api.close();
  await rm(work, { recursive: true, force: true });
});

async function events(id: string): Promise<JobEvent[]> {
  const text = await (await fetch(`${api.url}/developer/jobs/${id}/events`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as JobEvent);
}

test('the worker runs the job; the API streams its epochs and verifies its model', async () => {
  const { status, body } = await submit(api.url, await tabularForm(work, { epochs: 3, name: 'worker-model' }));
  assert.equal(status, 202);
  const seen = await events(body.job_id);
  assert.deepEqual(
    seen.filter((e) => e.type === 'epoch').map((e) => (e as { epoch: number }).epoch),
    [1, 2, 3],
  );
  assert.deepEqual(
    seen.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state),
    ['queued', 'running', 'attesting', 'publishing', 'succeeded'],
  );
  const job = await waitForState(api.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.publication?.ref, `${api.hostPort}/models/worker-model:1.0.0`);
  const row = await api.services.db
    .selectFrom('jobs')
    .select('worker')
    .where('id', '=', body.job_id)
    .executeTakeFirstOrThrow();
  assert.equal(row.worker, 'w1', 'claimed by the worker process, not the API node');
  const verify = await fetch(`${api.url}/verifier/verify/models/worker-model:1.0.0`);
  assert.equal(verify.status, 200, await verify.text());
});

test('a cancel sent to the API stops the job running on the worker', async () => {
  const { body } = await submit(api.url, await tabularForm(work, { epochs: 5000, samples: 2000, name: 'worker-long' }));
  await waitForFirstEpoch(api.url, body.job_id);
  const cancel = await fetch(`${api.url}/developer/jobs/${body.job_id}/cancel`, { method: 'POST' });
  assert.equal(cancel.status, 200);
  assert.equal(((await cancel.json()) as { status: string }).status, 'cancelled');
});
