import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';

test('/readyz is 200 with db and store ok on a running server', async () => {
  const srv = await startTestServer();
  try {
    const res = await fetch(`${srv.url}/readyz`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ready: true, checks: { db: 'ok', store: 'ok' } });
  } finally {
    await srv.close();
  }
});
