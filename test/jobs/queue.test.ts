/**
 * The queue: with a concurrency of 1 jobs never overlap and each owner's jobs start in submission order;
 * with tokens configured every request needs one and the job records its owner.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobEvent } from '../../server/contracts.ts';
import { startTestServer } from '../helpers/server.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';

const server = await startTestServer({ runner: 'process', jobConcurrency: 1, tokens: 'alice:a-token,bob:b-token' });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-queue-'));
test.after(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

async function submitAs(token: string | undefined, name: string): Promise<Response> {
  return fetch(`${server.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    body: await tabularForm(work, { epochs: 1, samples: 100, name }),
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
}

test('without a valid token: 401 naming the problem, nothing queued', async () => {
  const none = await submitAs(undefined, 'x');
  assert.equal(none.status, 401);
  assert.match(((await none.json()) as { detail: string }).detail, /requires a token/);
  const wrong = await submitAs('nope', 'x');
  assert.equal(wrong.status, 401);
  assert.match(((await wrong.json()) as { detail: string }).detail, /not valid/);
});

test('concurrency 1: jobs never overlap, FIFO per owner, owners recorded', async () => {
  const order: { id: string; owner: string }[] = [];
  for (const [token, owner, name] of [
    ['a-token', 'alice', 'a1'],
    ['a-token', 'alice', 'a2'],
    ['b-token', 'bob', 'b1'],
    ['a-token', 'alice', 'a3'],
  ] as const) {
    const res = await submitAs(token, name);
    assert.equal(res.status, 202);
    const body = (await res.json()) as { job_id: string; owner: string };
    assert.equal(body.owner, owner);
    order.push({ id: body.job_id, owner });
  }
  const spans: { id: string; owner: string; start: number; end: number }[] = [];
  for (const j of order) {
    // Each owner polls its own jobs: another owner's are not visible (server/jobs/visibility.ts).
    const token = j.owner === 'alice' ? 'a-token' : 'b-token';
    const job = await waitForState(server.url, j.id, undefined, undefined, { authorization: `Bearer ${token}` });
    assert.equal(job.status, 'succeeded', job.reason);
    const events: JobEvent[] = [];
    const unsubscribe = server.services.jobs!.subscribe(j.id, (e) => events.push(e));
    await new Promise((r) => setTimeout(r, 100));
    unsubscribe();
    const at = (state: string) => Date.parse(events.find((e) => e.type === 'state' && e.state === state)!.at);
    spans.push({ ...j, start: at('running'), end: at('succeeded') });
  }
  const byStart = [...spans].sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) assert.ok(byStart[i]!.start >= byStart[i - 1]!.end, 'two jobs ran at once');
  const aliceStarts = byStart.filter((s) => s.owner === 'alice').map((s) => s.id);
  assert.deepEqual(
    aliceStarts,
    order.filter((o) => o.owner === 'alice').map((o) => o.id),
    "alice's jobs ran in submission order",
  );
  const mine = (await (
    await fetch(`${server.url}/developer/jobs?owner=bob`, { headers: { authorization: 'Bearer b-token' } })
  ).json()) as { items: { owner: string }[] };
  assert.deepEqual(
    mine.items.map((i) => i.owner),
    ['bob'],
  );
  assert.equal((await fetch(`${server.url}/developer/jobs`)).status, 401, 'reads need a token too');
});

test('with tokens on, GraphQL operations need one too (the GraphiQL page stays open)', async () => {
  const query = JSON.stringify({ query: '{ jobs(first: 1) { edges { node { id owner } } } }' });
  const none = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: query,
  });
  assert.equal(none.status, 401);
  assert.equal(
    ((await none.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code,
    'UNAUTHENTICATED',
  );
  const ok = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer b-token' },
    body: query,
  });
  assert.equal(ok.status, 200);
  assert.ok(!((await ok.json()) as { errors?: unknown }).errors);
  assert.equal((await fetch(`${server.url}/graphql`, { headers: { accept: 'text/html' } })).status, 200);
});
