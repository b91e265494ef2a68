/**
 * Workers that die safely (queue engine pg-boss on Postgres, a real distribution registry, worker processes
 * with their own data directories). A worker killed with SIGKILL in the middle of a job — while training, at
 * the end of attesting (everything signed, nothing pushed), and while publishing (model manifest and a
 * referrer pushed; tag pushed but the publication not recorded) — stops heartbeating; its lease expires, the
 * job is re-run on another worker and completes there: exactly one version is published, with the evidence of
 * the run that completed; nothing the dead run pushed is left (`oras discover` lists no referrer of it). A
 * worker paused past its lease and then resumed cannot publish, record state or add events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { submit, tabularForm, waitForState } from '../helpers/jobs.ts';
import { type Cluster, followEvents, startCluster, states } from '../helpers/cluster.ts';
import { publishedAibom } from './image-helpers.ts';

const cluster: Cluster | undefined = await startCluster(1);
const work = await mkdtemp(join(tmpdir(), 'aibomgen-death-'));
test.after(async () => {
  await cluster?.stop();
  await rm(work, { recursive: true, force: true });
});
const skip = cluster ? false : 'no PostgreSQL here';
const exited = (p: ChildProcess): Promise<unknown> =>
  p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r));

async function stopWorker(p: ChildProcess): Promise<void> {
  p.kill('SIGTERM');
  await exited(p);
}

/** Digests of every manifest a run of the job pushed to `repo` (job_pushes, written before each push). */
async function pushed(jobId: string, epoch: number, repo: string): Promise<Set<string>> {
  const rows = await cluster!.apis[0]!.services.db.selectFrom('job_pushes')
    .select('digest')
    .where('job_id', '=', jobId)
    .where('epoch', '=', epoch)
    .where('repo', '=', repo)
    .execute();
  return new Set(rows.map((r) => r.digest));
}

/** The published model: one version, the completing run's evidence only, nothing left of the dead run. */
async function assertPublishedOnce(
  jobId: string,
  name: string,
  dead: string,
  live: string,
  deadPushed: boolean,
): Promise<void> {
  const api = cluster!.apis[0]!;
  const job = await waitForState(api.url, jobId, [], 300_000);
  assert.equal(job.status, 'succeeded', job.reason);
  const row = await api.services.db
    .selectFrom('jobs')
    .select('worker')
    .where('id', '=', jobId)
    .executeTakeFirstOrThrow();
  assert.equal(row.worker, live, 'completed by the other worker');
  // Released right after the terminal state is recorded (and the job's inputs artifact dropped).
  let lease: unknown;
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((res) => setTimeout(res, 200))) {
    lease = await api.services.db
      .selectFrom('job_leases')
      .select(['epoch', 'state'])
      .where('job_id', '=', jobId)
      .executeTakeFirstOrThrow();
    if ((lease as { state: string }).state !== 'active') break;
  }
  assert.deepEqual(lease, { epoch: 2, state: 'released' }, 'run 2 completed it');
  const events = await followEvents(api.url, jobId);
  const seen = states(events);
  assert.deepEqual(seen.slice(0, 2), ['queued', 'running'], seen.join(' '));
  assert.deepEqual(seen.slice(-5), ['queued', 'running', 'attesting', 'publishing', 'succeeded'], seen.join(' '));
  const requeued = events.find((e) => e.type === 'state' && e.state === 'queued' && e.reason);
  assert.match(
    requeued?.type === 'state' ? (requeued.reason ?? '') : '',
    new RegExp(`^worker ${dead} stopped heartbeating \\(run 1\\)$`),
  );

  const repo = `models/${name}`;
  const tags =
    ((await (await fetch(`${api.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null }).tags ?? [];
  assert.deepEqual(
    tags.filter((t) => !t.startsWith('sha256-')),
    ['1.0.0'],
    'exactly one version',
  );
  const digest = job.publication?.digest ?? '';
  const head = await fetch(`${api.url}/v2/${repo}/manifests/1.0.0`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(head.headers.get('docker-content-digest'), digest, 'the tag names the completing run’s model');
  const mine = await pushed(jobId, 2, repo);
  const theirs = await pushed(jobId, 1, repo);
  assert.ok(mine.has(digest), 'the published model is run 2’s');
  assert.equal(theirs.size > 0, deadPushed, `the dead run pushed ${theirs.size} manifests before it died`);
  for (const d of theirs) {
    if (mine.has(d)) continue;
    const r = await fetch(`${api.url}/v2/${repo}/manifests/${d}`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(r.status, 404, `${d}, pushed by the dead run, is gone`);
  }
  const { stdout } = await promisify(execFile)('oras', [
    'discover',
    '--plain-http',
    '--format',
    'json',
    `${api.hostPort}/${repo}:1.0.0`,
  ]);
  const found = new Set([...stdout.matchAll(/"digest":\s*"(sha256:[0-9a-f]{64})"/g)].map((m) => m[1]!));
  found.delete(digest);
  assert.ok(found.size >= 2, `oras discover lists the evidence: ${stdout}`);
  for (const d of found) {
    assert.ok(mine.has(d), `referrer ${d} was pushed by the run that completed`);
    assert.ok(!theirs.has(d), `referrer ${d} is not the dead run's`);
  }
  const v = await fetch(`${api.url}/verifier/verify/${repo}:1.0.0`);
  assert.equal(v.status, 200, await v.text());
  // The evidence names the worker whose run completed (the AIBoM's training workflow).
  const bom = (await publishedAibom(api, job)) as unknown as {
    formulation?: { workflows?: { properties?: { name: string; value: string }[] }[] }[];
  };
  const worker = bom.formulation?.[0]?.workflows?.[0]?.properties?.find((p) => p.name === 'aibomgen:worker');
  assert.equal(worker?.value, live, 'the AIBoM names the surviving worker');
}

const stages = [
  { stage: 'training', crashAt: undefined, deadPushed: false },
  { stage: 'attesting (all evidence signed, nothing pushed)', crashAt: 'publish:attested', deadPushed: false },
  { stage: 'publishing (model manifest and a referrer pushed)', crashAt: 'publish:referrer', deadPushed: true },
  { stage: 'publishing (tag pushed, publication not recorded)', crashAt: 'publish:after-tag', deadPushed: true },
] as const;

for (const [i, s] of stages.entries()) {
  test(`kill -9 of a worker while ${s.stage}: another worker completes the job, published once`, {
    skip,
    timeout: 300_000,
  }, async () => {
    const api = cluster!.apis[0]!;
    const name = `death-${i}`;
    const dead = `dying-${i}`;
    const x = cluster!.worker(dead, s.crashAt ? { AIBOMGEN_TEST_CRASH_AT: s.crashAt } : {});
    const r = await submit(api.url, await tabularForm(work, { samples: 600, epochs: s.crashAt ? 1 : 8, name }));
    assert.equal(r.status, 202, JSON.stringify(r.body));
    if (s.crashAt) {
      await exited(x);
      assert.equal(x.signalCode, 'SIGKILL', `the worker killed itself at ${s.crashAt}`);
    } else {
      await followEvents(api.url, r.body.job_id, (e) => e.type === 'epoch');
      x.kill('SIGKILL');
      await exited(x);
    }
    const live = `rescuer-${i}`;
    const y = cluster!.worker(live);
    try {
      await assertPublishedOnce(r.body.job_id, name, dead, live, s.deadPushed);
    } finally {
      await stopWorker(y);
    }
  });
}

test('a worker paused past its lease and resumed cannot publish, record state or add events', {
  skip,
  timeout: 300_000,
}, async () => {
  const api = cluster!.apis[0]!;
  const db = api.services.db;
  const x = cluster!.worker('sleeper');
  const r = await submit(api.url, await tabularForm(work, { samples: 1500, epochs: 12, name: 'paused' }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = r.body.job_id;
  await followEvents(api.url, id, (e) => e.type === 'epoch');
  x.kill('SIGSTOP'); // its trainer child keeps going; the worker itself stops heartbeating
  const y = cluster!.worker('awake');
  try {
    const job = await waitForState(api.url, id, [], 300_000);
    assert.equal(job.status, 'succeeded', job.reason);
    const snapshot = async () => ({
      job: await db
        .selectFrom('jobs')
        .select(['state', 'worker', 'publication_json'])
        .where('id', '=', id)
        .executeTakeFirst(),
      events: Number(
        (
          await db
            .selectFrom('job_events')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('job_id', '=', id)
            .executeTakeFirst()
        )?.n,
      ),
      run1Pushes: (await pushed(id, 1, 'models/paused')).size,
      tags: (await (await fetch(`${api.url}/v2/models/paused/tags/list`)).json()) as unknown,
    });
    const before = await snapshot();
    assert.equal(before.job?.worker, 'awake');
    assert.equal(before.run1Pushes, 0);
    x.kill('SIGCONT'); // back after its lease expired: every write it tries is refused
    await new Promise((res) => setTimeout(res, 6000));
    assert.deepEqual(await snapshot(), before, 'nothing changed after the paused worker resumed');
    assert.equal(x.exitCode, null, 'the resumed worker lives on (it only lost that job)');
  } finally {
    await stopWorker(y);
    await stopWorker(x);
  }
});

test('a worker killed and restarted under the same id lets go of its dead run; the job is re-run', {
  skip,
  timeout: 300_000,
}, async () => {
  const api = cluster!.apis[0]!;
  const x = cluster!.worker('phoenix');
  const r = await submit(api.url, await tabularForm(work, { samples: 600, epochs: 8, name: 'phoenix' }));
  assert.equal(r.status, 202, JSON.stringify(r.body));
  await followEvents(api.url, r.body.job_id, (e) => e.type === 'epoch');
  x.kill('SIGKILL');
  await exited(x);
  const again = cluster!.worker('phoenix');
  try {
    const job = await waitForState(api.url, r.body.job_id, [], 300_000);
    assert.equal(job.status, 'succeeded', job.reason);
    const lease = await api.services.db
      .selectFrom('job_leases')
      .select(['epoch', 'worker'])
      .where('job_id', '=', r.body.job_id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(lease, { epoch: 2, worker: 'phoenix' }, 'run 2, by the restarted worker');
    const seen = states(await followEvents(api.url, r.body.job_id));
    assert.deepEqual(seen, ['queued', 'running', 'queued', 'running', 'attesting', 'publishing', 'succeeded']);
  } finally {
    await stopWorker(again);
  }
});
