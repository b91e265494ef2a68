/**
 * Two users on one platform (auth on): B learns nothing of A's jobs on any surface — REST status, list,
 * artifacts, logs, SSE, cancel; GraphQL job, jobs, jobProgress, cancelJob — and cannot take over A's model name.
 * An administrator sees both. Jobs run with the process runner (real training, one epoch).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobResponse } from '../../schema/api.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const A = { authorization: 'Bearer token-of-alice' };
const B = { authorization: 'Bearer token-of-bob' };
const ADMIN = { authorization: 'Bearer token-of-root' };

let srv: TestServer;
let work: string;
let jobA: JobResponse;

async function submitAs(
  headers: Record<string, string>,
  name: string,
): Promise<{ status: number; body: JobResponse & { error?: string; detail?: string } }> {
  const form = await tabularForm(work, { epochs: 1, name, samples: 120 });
  const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, { method: 'POST', body: form, headers });
  return { status: res.status, body: (await res.json()) as JobResponse & { error?: string; detail?: string } };
}

async function gql(
  headers: Record<string, string>,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
}

before(async () => {
  srv = await startTestServer({
    tokens: 'alice:token-of-alice,bob:token-of-bob,root:token-of-root',
    admins: 'root',
    runner: 'process',
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-tenancy-'));
  const sub = await submitAs(A, 'alice-model');
  assert.equal(sub.status, 202, JSON.stringify(sub.body));
  jobA = await waitForState(srv.url, sub.body.job_id, undefined, 240_000, A);
  assert.equal(jobA.status, 'succeeded', jobA.reason);
});
after(async () => {
  await srv?.close();
  await rm(work, { recursive: true, force: true });
});

test("B gets 404 for A's job on every REST surface, A and an admin see it", async () => {
  const id = jobA.job_id;
  const paths = [
    `/developer/job_status/${id}`,
    `/developer/job_artifacts/${id}`,
    `/developer/job_artifacts/${id}/metrics.json`,
    `/developer/jobs/${id}/logs`,
    `/developer/jobs/${id}/events`,
  ];
  for (const p of paths) {
    const asB = await fetch(`${srv.url}${p}`, { headers: B });
    assert.equal(asB.status, 404, `${p} as B`);
    const body = (await asB.json()) as { error: string; detail: string };
    assert.equal(body.error, 'not_found', p);
    assert.ok(!JSON.stringify(body).includes('alice'), `${p}: nothing of A's job in the refusal`);
    for (const who of [A, ADMIN]) {
      const ok = await fetch(`${srv.url}${p}`, { headers: who });
      assert.equal(ok.status, 200, `${p} as ${who.authorization}`);
      await ok.body?.cancel();
    }
  }
  const cancel = await fetch(`${srv.url}/developer/jobs/${id}/cancel`, { method: 'POST', headers: B });
  assert.equal(cancel.status, 404);
  const listB = (await (await fetch(`${srv.url}/developer/jobs`, { headers: B })).json()) as { items: JobResponse[] };
  assert.deepEqual(
    listB.items.map((j) => j.job_id),
    [],
  );
  const listBasA = (await (await fetch(`${srv.url}/developer/jobs?owner=alice`, { headers: B })).json()) as {
    items: JobResponse[];
  };
  assert.deepEqual(listBasA.items, [], "asking for another owner's jobs lists nothing");
  const listA = (await (await fetch(`${srv.url}/developer/jobs`, { headers: A })).json()) as { items: JobResponse[] };
  assert.deepEqual(
    listA.items.map((j) => j.job_id),
    [id],
  );
  const listAdmin = (await (await fetch(`${srv.url}/developer/jobs`, { headers: ADMIN })).json()) as {
    items: JobResponse[];
  };
  assert.ok(listAdmin.items.some((j) => j.job_id === id));
});

test("B gets NOT_FOUND for A's job in GraphQL: job, jobs, jobProgress, cancelJob", async () => {
  const id = jobA.job_id;
  const job = await gql(B, 'query($id: ID!) { job(id: $id) { id state } }', { id });
  assert.ok(job.data?.job === null || job.errors?.[0]?.extensions?.code === 'NOT_FOUND', JSON.stringify(job));
  const jobs = await gql(B, '{ jobs { edges { node { id } } } }');
  assert.deepEqual((jobs.data!.jobs as { edges: unknown[] }).edges, []);
  const cancel = await gql(B, 'mutation($id: ID!) { cancelJob(id: $id) { id state } }', { id });
  assert.equal(cancel.errors?.[0]?.extensions?.code, 'NOT_FOUND', JSON.stringify(cancel));
  // jobProgress over SSE (graphql-yoga's subscriptions): the stream answers an error, no event of A's job.
  const sub = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { ...B, 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      query: 'subscription($id: ID!) { jobProgress(id: $id) { type state } }',
      variables: { id },
    }),
  });
  const text = await sub.text();
  assert.match(text, /NOT_FOUND|does not exist/);
  assert.doesNotMatch(text, /"type":"state"/);
  const asA = await gql(A, 'query($id: ID!) { job(id: $id) { id state } }', { id });
  assert.equal((asA.data!.job as { state: string }).state, 'SUCCEEDED');
});

test("B submitting a job named like A's published model is refused 409 before anything runs; A's tag stays", async () => {
  const before = await fetch(`${srv.url}/v2/models/alice-model/manifests/1.0.0`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const digest = before.headers.get('docker-content-digest');
  assert.equal(digest, jobA.publication?.digest);
  const sub = await submitAs(B, 'alice-model');
  assert.equal(sub.status, 409, JSON.stringify(sub.body));
  assert.equal(sub.body.error, 'conflict');
  assert.match(sub.body.detail ?? '', /belongs to another owner/);
  const listB = (await (await fetch(`${srv.url}/developer/jobs`, { headers: B })).json()) as { items: JobResponse[] };
  assert.deepEqual(listB.items, [], 'no job was queued');
  const now = await fetch(`${srv.url}/v2/models/alice-model/manifests/1.0.0`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(now.headers.get('docker-content-digest'), digest);
  // A may publish a new version under her own name.
  const again = await submitAs(A, 'alice-model');
  assert.equal(again.status, 202, JSON.stringify(again.body));
  await waitForState(srv.url, again.body.job_id, undefined, 240_000, A);
});
