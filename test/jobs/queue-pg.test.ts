/**
 * The queue port's two engines on real databases: pg-boss on a throwaway Postgres cluster, and the embedded
 * engine on SQLite. Leases (heartbeat, expiry), re-runs with backoff, the dead-letter state, fencing of a run
 * that lost its lease (job rows, events, registry pushes), fairness across owners, and job events between nodes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pino from 'pino';
import type { JobEvent } from '../../server/contracts.ts';
import { type Db, openDatabase } from '../../server/db/connect.ts';
import { bridgeJobEvents, createEventBus } from '../../server/events.ts';
import { JobQueue } from '../../server/jobs/queue.ts';
import { PLATFORM } from '../../server/identity.ts';
import { fencedTarget, LeaseLostError, runFenced } from '../../server/jobs/queue/fence.ts';
import { createQueueEngine } from '../../server/jobs/queue/index.ts';
import { LeaseStore } from '../../server/jobs/queue/leases.ts';
import type { QueueEngine } from '../../server/jobs/queue/port.ts';
import { DEAD_LETTER, PgBossQueue } from '../../server/jobs/queue/pg-boss.ts';
import { startTestServer } from '../helpers/server.ts';
import { startPostgres } from '../lineage/postgres.ts';

const pg = await startPostgres();
const sqliteDir = await mkdtemp(join(tmpdir(), 'aibomgen-queue-'));
const log = pino({ level: 'silent' });
const opened: { db: Db; engine: QueueEngine }[] = [];
test.after(async () => {
  for (const o of opened.reverse()) {
    await o.engine.close();
    await o.db.destroy();
  }
  await pg?.stop();
  await rm(sqliteDir, { recursive: true, force: true });
});

/** A database with an engine over it; `leaseSeconds` short so expiry is quick. */
async function open(kind: 'pg-boss' | 'embedded', retries = 2) {
  const url =
    kind === 'pg-boss' ? await pg!.database(`q${randomUUID().slice(0, 8)}`) : join(sqliteDir, `${randomUUID()}.db`);
  const db = await openDatabase(url);
  const config = { queueEngine: kind, databaseUrl: url, leaseSeconds: 2, jobRetries: retries, jobTimeoutSeconds: 60 };
  const engine = createQueueEngine(config, db, log);
  await engine.start();
  opened.push({ db, engine });
  const queue = new JobQueue(db);
  const submit = async (owner: string): Promise<string> => {
    const id = randomUUID();
    const input = { owner, framework: 'tfjs', files: [], params: {}, metadata: {} };
    await queue.insert(id, input, new Date().toISOString(), (tx) => engine.enqueue({ id, owner }, tx));
    return id;
  };
  const state = async (id: string) =>
    db.selectFrom('jobs').select(['state', 'reason', 'worker']).where('id', '=', id).executeTakeFirstOrThrow();
  return { db, engine, queue, submit, state };
}

const first = (heads: { id: string; owner: string; createdAt: string }[]) => heads[0]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Claims until a job comes (a retry waits out its backoff first); fails after `ms`. */
async function claimWithin(engine: QueueEngine, worker: string, ms: number) {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) {
    const j = await engine.claim(worker, first);
    if (j) return j;
  }
  throw new Error(`nothing claimed within ${ms} ms`);
}

for (const kind of ['pg-boss', 'embedded'] as const) {
  test(`${kind}: a run that stops heartbeating loses the job; another worker re-runs it; the old run is fenced`, {
    skip: kind === 'pg-boss' && !pg ? 'no PostgreSQL here' : false,
  }, async () => {
    const q = await open(kind);
    const id = await q.submit('alice');
    const a = await q.engine.claim('worker-a', first);
    assert.equal(a?.id, id);
    assert.equal(a.lease.epoch, 1);
    assert.equal((await q.state(id)).state, 'running');
    assert.equal(await q.engine.claim('worker-b', first), null, 'a leased job is not handed out twice');
    assert.ok(await q.engine.heartbeat(a.lease), 'a live lease is extended');
    assert.deepEqual(await q.engine.sweep(), [], 'nothing to sweep while heartbeats come');

    await sleep(2300); // worker-a stops heartbeating for longer than the 2 s lease
    assert.equal(await q.engine.heartbeat(a.lease), false, 'an expired lease cannot be revived');
    const lost = await q.engine.sweep();
    assert.deepEqual(
      lost.map((l) => [l.jobId, l.worker, l.outcome]),
      [[id, 'worker-a', 'retry']],
    );
    assert.deepEqual(await q.engine.sweep(), [], 'swept once');
    assert.equal((await q.state(id)).state, 'queued');

    const b = await claimWithin(q.engine, 'worker-b', 5000); // after the retry's backoff
    assert.equal(b.id, id);
    assert.equal(b.lease.epoch, 2);
    assert.equal((await q.state(id)).worker, 'worker-b');
    // The old run wakes up and tries to record its publication: refused in the same statement.
    await assert.rejects(
      runFenced(q.db, a.lease, () =>
        q.queue.setPublication(id, {
          ref: 'x',
          repository: 'models/x',
          tag: '1',
          digest: 'sha256:0',
          inputs: [],
          attestations: [],
        }),
      ),
      LeaseLostError,
    );
    await assert.rejects(
      runFenced(q.db, a.lease, () => q.queue.setState(id, 'attesting')),
      LeaseLostError,
    );
    assert.equal((await q.state(id)).state, 'running', 'the old run changed nothing');
    await runFenced(q.db, b.lease, () => q.queue.setState(id, 'attesting'));
    assert.equal((await q.state(id)).state, 'attesting', 'the current run writes');
    await q.engine.release(b.lease);
    assert.equal((await q.engine.stats()).leased, 0);
  });

  test(`${kind}: past the retry limit the job is dead-lettered (failed, with the reason)`, {
    skip: kind === 'pg-boss' && !pg ? 'no PostgreSQL here' : false,
  }, async () => {
    const q = await open(kind, 1);
    const id = await q.submit('bob');
    const outcomes: string[] = [];
    for (let run = 1; run <= 2; run++) {
      const j = await claimWithin(q.engine, `w${run}`, 5000);
      assert.equal(j.lease.epoch, run);
      await sleep(2300);
      outcomes.push(...(await q.engine.sweep()).map((l) => l.outcome));
    }
    assert.deepEqual(outcomes, ['retry', 'dead']);
    const row = await q.state(id);
    assert.equal(row.state, 'failed');
    assert.match(row.reason ?? '', /^dead-lettered: its worker stopped heartbeating on each of 2 runs/);
    assert.equal(await q.engine.claim('w3', first), null, 'never handed out again');
    if (q.engine instanceof PgBossQueue) {
      await sleep(500);
      assert.equal(await q.engine.deadLettered(), 1, `one job in pg-boss's ${DEAD_LETTER} queue`);
    }
  });

  test(`${kind}: fair across owners: a newcomer's job goes before the rest of a big backlog`, {
    skip: kind === 'pg-boss' && !pg ? 'no PostgreSQL here' : false,
  }, async () => {
    const q = await open(kind);
    const owner = new Map<string, string>();
    const order: string[] = [];
    // The embedded engine's chooser is the scheduler's; here: the owner with fewer starts so far (round-robin).
    const starts = new Map<string, number>();
    const claimOne = async (): Promise<boolean> => {
      const j = await q.engine.claim('w', (heads) =>
        heads.reduce((best, h) => ((starts.get(h.owner) ?? 0) < (starts.get(best.owner) ?? 0) ? h : best), heads[0]!),
      );
      if (!j) return false;
      starts.set(j.owner, (starts.get(j.owner) ?? 0) + 1);
      order.push(owner.get(j.id)!);
      await q.engine.release(j.lease);
      return true;
    };
    for (let i = 0; i < 6; i++) owner.set(await q.submit('alice'), 'alice');
    await claimOne();
    await claimOne(); // alice's backlog is being served when bob arrives
    owner.set(await q.submit('bob'), 'bob');
    owner.set(await q.submit('bob'), 'bob');
    while (await claimOne());
    assert.equal(order.length, 8);
    const next = order.slice(2);
    assert.ok(next.indexOf('bob') <= 1, `bob's first job waits at most one job: ${order.join(' ')}`);
    assert.ok(next.lastIndexOf('bob') <= 3, `bob's jobs alternate with alice's: ${order.join(' ')}`);
    const stats = await q.engine.stats();
    assert.equal(stats.depth, 0);
  });
}

test('pg-boss: a job row and its queue entry are one transaction (a failure between them stores neither)', {
  skip: pg ? false : 'no PostgreSQL here',
}, async () => {
  const q = await open('pg-boss');
  const entries = async (id: string) =>
    (await sql<{ n: number }>`select count(*)::int as n from pgboss.job where data->>'jobId' = ${id}`.execute(q.db))
      .rows[0]!.n;
  const id = randomUUID();
  const input = { owner: 'alice', framework: 'tfjs', files: [], params: {}, metadata: {} };
  await assert.rejects(
    q.queue.insert(id, input, new Date().toISOString(), async (tx) => {
      await q.engine.enqueue({ id, owner: 'alice' }, tx);
      assert.equal(await entries(id), 0, 'the entry is not visible outside the transaction before it commits');
      throw new Error('the node died here');
    }),
    /the node died here/,
  );
  assert.equal(await q.db.selectFrom('jobs').select('id').where('id', '=', id).executeTakeFirst(), undefined);
  assert.equal(await entries(id), 0, 'no pg-boss job without its row');
  const ok = await q.submit('alice');
  assert.equal(await entries(ok), 1);
  assert.equal((await claimWithin(q.engine, 'w', 5000)).id, ok);
  // More submits at once than the pool has connections: each enqueue works inside its own transaction (a second
  // connection per submit would drain the pool and hang every one of them).
  const many = await Promise.race([
    Promise.all(Array.from({ length: 14 }, () => q.submit('bob'))),
    sleep(30_000).then(() => 'hung' as const),
  ]);
  assert.notEqual(many, 'hung', 'concurrent submits finish');
});

test('queue stats: depth and the age of the oldest waiting job', {
  skip: !pg ? 'no PostgreSQL here' : false,
}, async () => {
  const q = await open('pg-boss');
  await q.submit('carol');
  await sleep(1100);
  await q.submit('carol');
  const s = await q.engine.stats();
  assert.equal(s.engine, 'pg-boss');
  assert.equal(s.depth, 2);
  assert.ok(s.oldestAgeSeconds >= 1 && s.oldestAgeSeconds < 30, String(s.oldestAgeSeconds));
});

test('job events cross nodes by LISTEN/NOTIFY: in order, once, big ones by their key', {
  skip: !pg ? 'no PostgreSQL here' : false,
}, async () => {
  const url = await pg!.database(`ev${randomUUID().slice(0, 8)}`);
  const stored = new Map<string, JobEvent>();
  const read = async (jobId: string, seq: number) => stored.get(`${jobId}/${seq}`);
  const [busA, busB] = [createEventBus(), createEventBus()];
  const a = await bridgeJobEvents(busA, url, read, (err) => assert.fail(String(err)));
  const b = await bridgeJobEvents(busB, url, read, (err) => assert.fail(String(err)));
  const onA: JobEvent[] = [];
  const onB: JobEvent[] = [];
  busA.on('job.event', (e) => onA.push(e));
  busB.on('job.event', (e) => onB.push(e));
  const at = new Date().toISOString();
  const sent: JobEvent[] = [];
  for (let seq = 1; seq <= 20; seq++) {
    const line = seq === 7 ? 'x'.repeat(9000) : `line ${seq}`; // over NOTIFY's 8000 bytes: sent as its key
    const e: JobEvent = { jobId: 'j1', seq, at, type: 'log', line };
    stored.set(`j1/${seq}`, e);
    sent.push(e);
    busA.emit('job.event', e);
  }
  for (let i = 0; i < 50 && onB.length < 20; i++) await sleep(100);
  assert.deepEqual(
    onB.map((e) => e.seq),
    sent.map((e) => e.seq),
    'node B got every event once, in order',
  );
  assert.equal(onB[6]?.type === 'log' ? onB[6].line.length : 0, 9000);
  assert.equal(onA.length, 20, 'node A did not get its own events back');
  await a.close();
  await b.close();
});

test('a run whose lease expired pushes no manifest: the fenced registry refuses it before the push', async () => {
  const srv = await startTestServer({ role: 'api' });
  try {
    const db = srv.services.db;
    const leases = new LeaseStore(db, 2500, 3);
    const queue = new JobQueue(db);
    const id = randomUUID();
    await queue.insert(
      id,
      { owner: 'alice', framework: 'tfjs', files: [], params: {}, metadata: {} },
      new Date().toISOString(),
    );
    const run = await leases.take(id, 'ghost');
    assert.ok(run);
    const target = fencedTarget(srv.services.registry.as(PLATFORM));
    const empty = await target.pushBlob('models/ghost', Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
    const manifest = (n: number) =>
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: empty,
          layers: [empty],
          annotations: { n: String(n) },
        }),
      );
    // While the lease is live the push lands (and is recorded for a successor's cleanup).
    await runFenced(db, run.lease, () => target.pushManifest('models/ghost', '1', manifest(1)));
    assert.deepEqual(await target.tags('models/ghost'), ['1']);
    await sleep(2600); // the run stops heartbeating past its lease
    await assert.rejects(
      runFenced(db, run.lease, () => target.pushManifest('models/ghost', '2', manifest(2))),
      LeaseLostError,
    );
    await assert.rejects(
      runFenced(db, run.lease, () => target.deleteManifest('models/ghost', '1')),
      LeaseLostError,
    );
    assert.deepEqual(await target.tags('models/ghost'), ['1'], 'nothing pushed, nothing deleted');
    const recorded = await db.selectFrom('job_pushes').select(['epoch', 'tag']).where('job_id', '=', id).execute();
    assert.deepEqual(recorded, [{ epoch: 1, tag: '1' }]);
  } finally {
    await srv.close();
  }
});
