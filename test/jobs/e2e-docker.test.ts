/**
 * The docker runner against a real engine (podman's Docker-compatible API): a tabular job runs in a
 * container and publishes; artifacts are byte-identical to what the trainer wrote; SSE shows every epoch
 * in order then the final state; cancel removes the container within 5 s.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactListResponse } from '../../schema/api.ts';
import type { JobEvent } from '../../server/contracts.ts';
import { JOB_LABEL } from '../../server/jobs/runners/docker.ts';
import { startPodman } from '../helpers/podman.ts';
import { startTestServer } from '../helpers/server.ts';
import { submit, tabularForm, waitForFirstEpoch, waitForState } from '../helpers/jobs.ts';

const podman = await startPodman();
const server = await startTestServer({ runner: 'docker', dockerSocket: podman.socketPath });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-e2e-docker-'));
test.after(async () => {
  await server.close();
  await podman.stop();
  await rm(work, { recursive: true, force: true });
});

/** Reads the SSE stream of a job until it ends; returns every event. */
async function readEvents(id: string, headers: Record<string, string> = {}): Promise<JobEvent[]> {
  const res = await fetch(`${server.url}/developer/jobs/${id}/events`, { headers });
  assert.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
  const text = await res.text(); // the server ends the stream after the terminal state
  return text
    .split('\n\n')
    .map((block) => block.split('\n').find((l) => l.startsWith('data: ')))
    .filter((l): l is string => !!l)
    .map((l) => JSON.parse(l.slice(6)) as JobEvent);
}

async function jobContainers(): Promise<string[]> {
  const list = await podman.docker.listContainers({ all: true, filters: { label: [JOB_LABEL] } });
  return list.map((c) => c.Id);
}

test('a tabular job runs in a podman container, live events arrive in order, artifacts match', async () => {
  const { status, body } = await submit(server.url, await tabularForm(work, { epochs: 3, name: 'container-model' }));
  assert.equal(status, 202, JSON.stringify(body));
  const events = await readEvents(body.job_id); // opened at once: replay + live
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'succeeded', job.reason);
  assert.equal(job.runner?.kind, 'docker');
  assert.equal(job.runner?.isolated, true);
  assert.match(job.runner?.runtime ?? '', /^podman /);
  assert.match(job.runner?.imageDigest ?? '', /^(sha256:)?[0-9a-f]{64}$/);

  const seqs = events.map((e) => e.seq);
  assert.deepEqual(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'events in seq order',
  );
  assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
  const epochs = events.filter((e) => e.type === 'epoch').map((e) => (e as { epoch: number }).epoch);
  assert.deepEqual(epochs, [1, 2, 3]);
  const states = events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
  assert.deepEqual(states, ['queued', 'running', 'attesting', 'publishing', 'succeeded']);
  assert.ok(
    events.findIndex((e) => e.type === 'epoch') <
      events.findIndex((e) => e.type === 'state' && e.state === 'attesting'),
  );

  // Resuming with Last-Event-ID replays only what came after.
  const later = await readEvents(body.job_id, { 'Last-Event-ID': String(seqs.at(-3)) });
  assert.deepEqual(
    later.map((e) => e.seq),
    seqs.slice(-2),
  );

  const list = (await (
    await fetch(`${server.url}/developer/job_artifacts/${job.job_id}`)
  ).json()) as ArtifactListResponse;
  assert.ok(list.artifacts.length >= 4);
  for (const a of list.artifacts) {
    const got = Buffer.from(
      await (await fetch(`${server.url}/developer/job_artifacts/${job.job_id}/${a.name}`)).arrayBuffer(),
    );
    assert.ok(
      got.equals(await readFile(join(server.dataDir, 'jobs', job.job_id, 'output', ...a.name.split('/')))),
      a.name,
    );
  }
  assert.deepEqual(await jobContainers(), [], 'the container was removed');
});

test('cancel of a running job: container gone within 5 s, state cancelled, no artifacts listed', async () => {
  const { body } = await submit(
    server.url,
    await tabularForm(work, { epochs: 5000, samples: 2000, name: 'long-model' }),
  );
  await waitForFirstEpoch(server.url, body.job_id); // the trainer is really running inside its container
  assert.equal((await jobContainers()).length, 1);
  const t0 = Date.now();
  const cancel = await fetch(`${server.url}/developer/jobs/${body.job_id}/cancel`, { method: 'POST' });
  assert.equal(cancel.status, 200);
  const job = await waitForState(server.url, body.job_id);
  assert.equal(job.status, 'cancelled');
  while ((await jobContainers()).length && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await jobContainers(), [], `container still there after ${Date.now() - t0} ms`);
  const list = (await (
    await fetch(`${server.url}/developer/job_artifacts/${job.job_id}`)
  ).json()) as ArtifactListResponse;
  assert.deepEqual(list.artifacts, []);
  // A second cancel is harmless; unknown jobs are 404.
  assert.equal((await fetch(`${server.url}/developer/jobs/${body.job_id}/cancel`, { method: 'POST' })).status, 200);
  assert.equal((await fetch(`${server.url}/developer/jobs/nope/cancel`, { method: 'POST' })).status, 404);
});
