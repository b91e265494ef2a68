import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/db/connect.ts';

test('jobs tables: insert a job with inputs and ordered events; seq is unique per job', async () => {
  const db = await openDatabase(':memory:');
  try {
    const now = new Date().toISOString();
    await db
      .insertInto('jobs')
      .values({
        id: 'j1',
        owner: 'alice',
        kind: 'model',
        state: 'queued',
        reason: null,
        spec_json: '{}',
        publication_json: null,
        runner_json: null,
        created_at: now,
        started_at: null,
        finished_at: null,
      })
      .execute();
    await db
      .insertInto('job_inputs')
      .values({
        job_id: 'j1',
        name: 'data.csv',
        role: 'dataset',
        digest: `sha256:${'a'.repeat(64)}`,
        size: 12,
        path: '/x/data.csv',
      })
      .execute();
    for (const seq of [1, 2, 3]) {
      await db
        .insertInto('job_events')
        .values({ job_id: 'j1', seq, type: 'state', body_json: JSON.stringify({ seq }), at: now })
        .execute();
    }
    const events = await db
      .selectFrom('job_events')
      .select(['seq'])
      .where('job_id', '=', 'j1')
      .orderBy('seq')
      .execute();
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2, 3],
    );
    await assert.rejects(
      db.insertInto('job_events').values({ job_id: 'j1', seq: 2, type: 'state', body_json: '{}', at: now }).execute(),
    );
    // An input for a job that does not exist is refused (foreign key).
    await assert.rejects(
      db
        .insertInto('job_inputs')
        .values({ job_id: 'nope', name: 'x', role: 'other', digest: 'sha256:0', size: 0, path: '/x' })
        .execute(),
    );
  } finally {
    await db.destroy();
  }
});
