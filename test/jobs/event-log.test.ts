import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase } from '../../server/db/connect.ts';
import { createEventBus } from '../../server/events.ts';
import { JobEventLog } from '../../server/jobs/event-log.ts';
import type { JobEvent } from '../../server/contracts.ts';

test('event log: stored with increasing seq, emitted on the bus, replayed in order', async () => {
  const db = await openDatabase(':memory:');
  try {
    const now = new Date().toISOString();
    await db
      .insertInto('jobs')
      .values({
        id: 'j1',
        owner: 'a',
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
    const bus = createEventBus();
    const seen: JobEvent[] = [];
    bus.on('job.event', (e) => seen.push(e));
    const log = new JobEventLog(db, bus);
    await log.append('j1', { type: 'state', state: 'running' });
    await log.append('j1', { type: 'epoch', epoch: 0, logs: { loss: 0.5 } });
    await log.append('j1', { type: 'state', state: 'failed', reason: 'boom' });
    assert.deepEqual(
      seen.map((e) => e.seq),
      [1, 2, 3],
    );
    const replayed = await log.replay('j1');
    assert.deepEqual(replayed, seen);
    assert.deepEqual(
      (await log.replay('j1', 2)).map((e) => e.type),
      ['state'],
    );
  } finally {
    await db.destroy();
  }
});
