/**
 * Fairness across owners on a real server (process runner, real trainer on a tiny job, concurrency 1): alice
 * fills the queue with 300 jobs, then bob submits one. Bob's job must start after at most one of alice's jobs
 * has started since he submitted (the scheduler looks at the oldest job of every owner and takes turns), not
 * after the 300 she queued before him. Then the scheduler keeps taking turns: with both owners waiting, two
 * consecutive starts never go to alice while bob still has a queued job.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tabularForm } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const ALICE_JOBS = 300;
const SUBMIT = '/developer/submit_job_by_model_and_data';

let srv: TestServer;
let work: string;
const forms = new Map<string, FormData>();

before(async () => {
  srv = await startTestServer({
    runner: 'process',
    jobConcurrency: 1,
    tokens: 'alice:alice-token,bob:bob-token',
    rateSubmitsPerMinute: 1000,
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-fair-'));
  // The smallest job the trainer accepts quickly: what is measured is the order of starts, not training.
  for (const owner of ['alice', 'bob'])
    forms.set(`${owner}-token`, await tabularForm(work, { samples: 40, epochs: 1, name: `fair-${owner}` }));
});
after(async () => {
  await srv?.close(); // aborts the job running, the queued ones go with the data directory
  await rm(work, { recursive: true, force: true });
});

async function submitAs(token: string): Promise<string> {
  const res = await fetch(`${srv.url}${SUBMIT}`, {
    method: 'POST',
    body: forms.get(token)!,
    headers: { authorization: `Bearer ${token}` },
  });
  const body = (await res.json()) as { job_id: string; detail?: string };
  assert.equal(res.status, 202, body.detail);
  return body.job_id;
}

const jobRow = (id: string) =>
  srv.services.db
    .selectFrom('jobs')
    .select(['id', 'owner', 'state', 'created_at', 'started_at'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow();

/** Waits until the job has left the queue; fails naming how many of alice's jobs started meanwhile. */
async function waitForStart(id: string, timeoutMs: number): Promise<{ created_at: string; started_at: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await jobRow(id);
    if (row.started_at) return { created_at: row.created_at, started_at: row.started_at };
    if (Date.now() > deadline) {
      const started = await srv.services.db
        .selectFrom('jobs')
        .select('id')
        .where('owner', '=', 'alice')
        .where('started_at', '>', row.created_at)
        .execute();
      assert.fail(
        `bob's job still ${row.state} after ${timeoutMs} ms; ${started.length} of alice's jobs started meanwhile`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(`${ALICE_JOBS} queued jobs of alice delay bob's job by at most one job slot`, async () => {
  for (let i = 0; i < ALICE_JOBS; i += 20)
    await Promise.all(Array.from({ length: Math.min(20, ALICE_JOBS - i) }, () => submitAs('alice-token')));
  const queued = await srv.services.db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('owner', '=', 'alice')
    .where('state', '=', 'queued')
    .executeTakeFirstOrThrow();
  assert.ok(Number(queued.n) >= ALICE_JOBS - 10, `alice has ${queued.n} jobs waiting when bob submits`);

  const bob = await submitAs('bob-token');
  // A slot frees when alice's running job ends (a few seconds); 300 of her jobs would take many minutes.
  const b = await waitForStart(bob, 120_000);
  const between = await srv.services.db
    .selectFrom('jobs')
    .select(['id', 'started_at'])
    .where('owner', '=', 'alice')
    .where('started_at', '>', b.created_at)
    .where('started_at', '<', b.started_at)
    .execute();
  assert.ok(between.length <= 1, `${between.length} of alice's jobs started between bob's submission and his start`);
});

test('while both owners wait, starts alternate: alice never gets two in a row while bob has a job queued', async () => {
  const bobJobs = [await submitAs('bob-token'), await submitAs('bob-token')];
  await waitForStart(bobJobs[1]!, 240_000);
  const starts = await srv.services.db
    .selectFrom('jobs')
    .select(['id', 'owner', 'created_at', 'started_at'])
    .where('started_at', 'is not', null)
    .orderBy('started_at')
    .execute();
  const firstBob = await jobRow(bobJobs[0]!);
  // From bob's first submission of this test on, the starts go bob, alice, bob (at most one of alice's between).
  const since = starts.filter((s) => s.started_at! > firstBob.created_at).map((s) => s.owner);
  assert.ok(since.length >= 2 && since.length <= 4, since.join(','));
  assert.ok(
    !since.join(',').includes('alice,alice'),
    `alice started twice in a row while bob waited: ${since.join(',')}`,
  );
});
