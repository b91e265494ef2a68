/**
 * A multi-node install on Postgres (queue engine pg-boss): two API nodes and three `aibomgen worker` processes,
 * each with its own data directory, sharing only the database, a real distribution registry on a real S3 server
 * (SeaweedFS's gateway) and the keys.
 * 30 small training jobs submitted to both API nodes all succeed and verify, spread over the three workers;
 * the events of a job submitted to one API node reach an SSE client of the other as they happen (Postgres
 * LISTEN/NOTIFY); the operators' view (GraphQL `workers`, `queue`; /metrics) shows the workers and the queue.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveWorker, submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { type Cluster, followEvents, startCluster, states } from '../helpers/cluster.ts';

const JOBS = 30;
const cluster: Cluster | undefined = await startCluster(2, { s3: true });
const work = await mkdtemp(join(tmpdir(), 'aibomgen-multi-'));
test.after(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});

async function graphql<T>(url: string, query: string): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown };
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data!;
}

test('two API nodes, three workers on Postgres: 30 jobs succeed, verify, spread; events cross nodes', {
  skip: cluster ? false : 'no PostgreSQL here',
  timeout: 600_000,
}, async () => {
  const c = cluster!;
  const [a, b] = c.apis as [(typeof c.apis)[0], (typeof c.apis)[0]];
  // Each worker signs with its own key, approved here as an administrator would (`aibomgen workers approve`),
  // on API node A; node B trusts the layouts A re-signed (through the database, checked with its root.pub).
  for (const id of ['w1', 'w2', 'w3']) c.worker(id, { AIBOMGEN_WORKER_KEYS: 'own' });
  for (const id of ['w1', 'w2', 'w3']) await approveWorker(a.url, id);

  // The first job: submitted to API node A, followed on API node B from the start.
  const first = await submit(a.url, await tabularForm(work, { samples: 120, epochs: 3, name: 'multi-0' }));
  assert.equal(first.status, 202, JSON.stringify(first.body));
  const followed = followEvents(b.url, first.body.job_id);
  // The same job through a GraphQL subscription on node B (it ends after the terminal state).
  const subscribed = fetch(`${b.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({
      query: 'subscription($id: ID!) { jobProgress(id: $id) { seq type state epoch } }',
      variables: { id: first.body.job_id },
    }),
  }).then((r) => r.text());
  const ids = [first.body.job_id];
  for (let i = 1; i < JOBS; i++) {
    const node = i % 2 ? b : a;
    const r = await submit(node.url, await tabularForm(work, { samples: 120, epochs: 1, name: `multi-${i}` }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    ids.push(r.body.job_id);
  }

  const seen = await followed;
  assert.deepEqual(states(seen), ['queued', 'running', 'attesting', 'publishing', 'succeeded']);
  assert.deepEqual(
    seen.flatMap((e) => (e.type === 'epoch' ? [e.epoch] : [])),
    [1, 2, 3],
    'every epoch, live, on the node the job was not submitted to',
  );

  const progress = (await subscribed)
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .flatMap((l) => {
      const d = (JSON.parse(l.slice(6)) as { data?: { jobProgress: { type: string; state?: string; epoch?: number } } })
        .data;
      return d ? [d.jobProgress] : [];
    });
  assert.deepEqual(
    progress.flatMap((e) => (e.type === 'state' ? [e.state] : [])),
    ['QUEUED', 'RUNNING', 'ATTESTING', 'PUBLISHING', 'SUCCEEDED'],
    'the GraphQL subscription on node B saw every state',
  );
  assert.deepEqual(
    progress.flatMap((e) => (e.type === 'epoch' ? [e.epoch] : [])),
    [1, 2, 3],
  );

  const done = await Promise.all(ids.map((id, i) => waitForState((i % 2 ? b : a).url, id, [], 400_000)));
  for (const j of done) assert.equal(j.status, 'succeeded', `${j.job_id}: ${j.reason}`);
  for (let i = 0; i < JOBS; i++) {
    const v = await fetch(`${(i % 2 ? a : b).url}/verifier/verify/models/multi-${i}:1.0.0`);
    assert.equal(v.status, 200, `multi-${i}: ${await v.text()}`);
  }
  const rows = await a.services.db.selectFrom('jobs').select(['worker']).where('id', 'in', ids).execute();
  const per = new Map<string, number>();
  for (const r of rows) per.set(r.worker ?? '-', (per.get(r.worker ?? '-') ?? 0) + 1);
  assert.deepEqual([...per.keys()].sort(), ['w1', 'w2', 'w3'], JSON.stringify([...per]));
  for (const [w, n] of per) assert.ok(n >= 3, `worker ${w} ran only ${n} of ${JOBS}: ${JSON.stringify([...per])}`);
  console.log(`jobs per worker: ${JSON.stringify(Object.fromEntries(per))}`);

  // The operators' view, from the API node that ran nothing.
  const view = await graphql<{
    workers: {
      id: string;
      state: string;
      engine: string;
      runningJobs: string[];
      heartbeatAt: string;
      keyId: string;
      keyState: string;
    }[];
    queue: { engine: string; depth: number; leased: number };
  }>(
    b.url,
    '{ workers { id state engine runningJobs heartbeatAt gpus keyId keyState } queue { engine depth leased } }',
  );
  assert.deepEqual(
    view.workers.map((w) => [w.id, w.state, w.engine]),
    [
      ['w1', 'IDLE', 'pg-boss'],
      ['w2', 'IDLE', 'pg-boss'],
      ['w3', 'IDLE', 'pg-boss'],
    ],
  );
  assert.equal(new Set(view.workers.map((w) => w.keyId)).size, 3, 'each worker shows its own signing key');
  assert.deepEqual(
    view.workers.map((w) => w.keyState),
    ['APPROVED', 'APPROVED', 'APPROVED'],
  );
  assert.deepEqual(view.queue, { engine: 'pg-boss', depth: 0, leased: 0 });
  const metrics = await (await fetch(`${a.url}/metrics`)).text();
  assert.match(metrics, /^aibomgen_job_queue_depth 0$/m);
  assert.match(metrics, /^aibomgen_job_queue_oldest_age_seconds 0$/m);
  assert.match(metrics, /^aibomgen_workers\{state="idle"\} 3$/m);
});
