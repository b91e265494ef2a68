/**
 * End to end through the process runner (the fallback where no container engine exists): submit the seed's
 * tabular job over HTTP → succeeded → artifacts listed and byte-identical to what the trainer wrote →
 * published and verifiable; the job record says plainly that it was not container-isolated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactListResponse } from '../../schema/api.ts';
import { startTestServer } from '../helpers/server.ts';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';

const server = await startTestServer({ runner: 'process' });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-e2e-'));
test.after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

test('a tabular job runs as a child process, publishes, and its artifacts download byte-identical', async () => {
  const { status, body } = await submit(server.url, await tabularForm(work, { epochs: 2, name: 'proc-model' }));
  assert.equal(status, 202, JSON.stringify(body));
  assert.equal(body.status, 'queued');
  assert.match(body.job_id, /^[0-9a-f-]{36}$/);
  assert.deepEqual(body.inputs.map((i) => i.role).sort(), ['dataset', 'dataset_definition', 'model', 'params']);

  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.runner?.kind, 'process');
  assert.equal(job.runner?.isolated, false);
  assert.match(job.runner?.runtime ?? '', /not container-isolated/);
  assert.ok(job.startedAt && job.finishedAt);
  assert.match(job.publication?.ref ?? '', new RegExp(`^${server.hostPort}/models/proc-model:1\\.0\\.0$`));
  assert.equal((job.metrics as { history: unknown[] }).history.length, 2);

  const list = (await (
    await fetch(`${server.url}/developer/job_artifacts/${job.job_id}`)
  ).json()) as ArtifactListResponse;
  const names = list.artifacts.map((a) => a.name);
  for (const n of ['model/model.json', 'model/weights.bin', 'metrics.json', 'logs.txt'])
    assert.ok(names.includes(n), `${n} missing from ${names.join(', ')}`);
  for (const a of list.artifacts) {
    const res = await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/${a.name}`);
    assert.equal(res.status, 200, a.name);
    const got = Buffer.from(await res.arrayBuffer());
    const onDisk = await readFile(join(server.dataDir, 'jobs', job.job_id, 'output', ...a.name.split('/')));
    assert.ok(got.equals(onDisk), `${a.name} differs from what the trainer wrote`);
    assert.equal(`sha256:${createHash('sha256').update(got).digest('hex')}`, a.digest);
  }
  assert.equal((await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/../../aibomgen.db`)).status, 404);

  const logs = await (await fetch(`${server.url}/developer/jobs/${job.job_id}/logs`)).text();
  assert.match(logs, /"type":"epoch"/);

  const verify = await fetch(`${server.url}/verifier/verify/models/proc-model:1.0.0`);
  const report = (await verify.json()) as {
    verified: boolean;
    checks: { name: string; passed: boolean; reason?: string }[];
  };
  assert.equal(verify.status, 200, JSON.stringify(report.checks.filter((c) => !c.passed)));
  assert.equal(report.verified, true);
});

test('the job list pages newest first, and filters by state', async () => {
  const all = (await (await fetch(`${server.url}/developer/jobs?limit=1`)).json()) as {
    items: { status: string }[];
    next?: string;
  };
  assert.equal(all.items.length, 1);
  const failed = (await (await fetch(`${server.url}/developer/jobs?state=failed`)).json()) as { items: unknown[] };
  assert.equal(failed.items.length, 0);
  const bad = await fetch(`${server.url}/developer/jobs?limit=0`);
  assert.equal(bad.status, 400);
  assert.equal(((await bad.json()) as { fields: { field: string }[] }).fields[0]?.field, 'limit');
});
