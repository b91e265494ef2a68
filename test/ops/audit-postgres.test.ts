/**
 * The same SQL on PostgreSQL (Debian's postgresql 15, a throwaway cluster): the audit log's table, batch writes
 * and reads (an `action` filter holding LIKE's wildcards matches them literally), and the queue's per-owner
 * heads and counts that the scheduler and the queued-jobs cap use.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobQueue } from '../../server/jobs/queue.ts';
import { tabularForm } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startPostgres, type TestPostgres } from '../lineage/postgres.ts';

let pg: TestPostgres | undefined;
let srv: TestServer;
let work: string;

before(async () => {
  pg = await startPostgres();
  if (!pg) throw new Error('PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin) are needed for this test');
  srv = await startTestServer({
    databaseUrl: await pg.database(`audit_${process.pid}`),
    tokens: 'alice:alice-token,bob:bob-token',
    admins: 'alice',
    role: 'api',
    maxQueuedPerOwner: 2,
  });
  work = await mkdtemp(join(tmpdir(), 'aibomgen-audit-pg-'));
});
after(async () => {
  await srv?.close();
  await pg?.stop();
  await rm(work, { recursive: true, force: true });
});

const submit = async (token: string, name: string): Promise<Response> =>
  fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    body: await tabularForm(work, { samples: 40, name }),
    headers: { authorization: `Bearer ${token}` },
  });

test('on PostgreSQL: entries are written and read back, filters are literal; queue heads and the cap work', async () => {
  for (const [token, name] of [
    ['alice-token', 'a1'],
    ['bob-token', 'b1'],
    ['alice-token', 'a2'],
  ] as const)
    assert.equal((await submit(token, name)).status, 202);
  const over = await submit('alice-token', 'a3');
  assert.equal(over.status, 429, 'the cap of 2 counted on PostgreSQL');
  assert.equal((await fetch(`${srv.url}/developer/jobs/x_%/cancel`, { method: 'POST' })).status, 401);

  const queue = new JobQueue(srv.services.db);
  assert.equal(await queue.queuedCount('alice'), 2);
  const heads = await queue.queueHeads();
  assert.deepEqual(
    heads.map((h) => h.owner),
    ['alice', 'bob'],
    'one head per owner, oldest first',
  );

  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
    body: JSON.stringify({
      query: `{ all: auditLog { actor action status result } wild: auditLog(action: "x_%") { action } }`,
    }),
  });
  const body = (await res.json()) as {
    data: { all: { actor: string; action: string; status: number; result: string }[]; wild: { action: string }[] };
  };
  assert.deepEqual(
    body.data.all.map((e) => `${e.actor} ${e.status} ${e.result}`),
    ['anonymous 401 refused', 'alice 429 refused', 'alice 202 ok', 'bob 202 ok', 'alice 202 ok'],
  );
  assert.deepEqual(
    body.data.wild.map((e) => e.action),
    ['POST /developer/jobs/x_%/cancel'],
  );
  const none = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { authorization: 'Bearer alice-token', 'content-type': 'application/json' },
    body: JSON.stringify({ query: `{ auditLog(action: "x%_") { action } }` }),
  });
  assert.deepEqual(((await none.json()) as { data: { auditLog: unknown[] } }).data.auditLog, []);
});
