/**
 * Issue #16, upload sessions expire: 3,000 sessions opened and abandoned (some holding data) are purged after
 * AIBOMGEN_UPLOAD_TTL_SECONDS — their files (ours, or the upstream's) and the state kept in memory — while a
 * session still in use survives; and the embedded store purges what a stopped server left behind on start.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pMap from 'p-map';
import { startTestServer } from '../helpers/server.ts';
import { storeModes } from './front-modes.ts';
import { specError, startHardenedFront } from './hardening-front.ts';

const sha256 = (b: string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const SESSIONS = 3000;
const TTL_SECONDS = 3;

for (const mode of storeModes) {
  test(`${SESSIONS} abandoned upload sessions are gone after the TTL, files and memory (${mode})`, async () => {
    const front = await startHardenedFront(mode, {
      auth: 'off',
      uploadSessionTtlSeconds: TTL_SECONDS,
      maxUploadSessionsPerIdentity: SESSIONS + 10,
    });
    const { url, services } = front.srv;
    const repo = 'expiry/model';
    const base = `${url}/v2/${repo}`;
    try {
      const opened = Date.now();
      const locs = await pMap(
        Array.from({ length: SESSIONS }, (_, i) => i),
        async (i) => {
          const res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
          assert.equal(res.status, 202);
          const loc = new URL(res.headers.get('location')!, url).toString();
          if (i % 10 === 0) {
            // Every tenth holds data.
            const r = await fetch(loc, { method: 'PATCH', body: 'x'.repeat(4096) });
            assert.equal(r.status, 202);
          }
          return loc;
        },
        { concurrency: 8 },
      );
      // One more, kept in use: a chunk every half second. It must outlive the abandoned ones.
      let res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const live = new URL(res.headers.get('location')!, url).toString();
      let sent = '';
      const feed = async () => {
        const chunk = `chunk-${sent.length};`;
        const r = await fetch(live, { method: 'PATCH', body: chunk });
        assert.equal(r.status, 202, 'the session in use is kept');
        sent += chunk;
      };
      await feed();
      const openedAll = Date.now() - opened;
      // Sweeps can only have run after the TTL: when opening took longer, some may be gone already.
      if (openedAll < TTL_SECONDS * 1000) {
        assert.equal(services.store.uploadSessionCount(), SESSIONS + 1);
        assert.equal((await front.uploadDirs(repo)).length, SESSIONS + 1);
      }
      const deadline = Date.now() + 90_000;
      while (services.store.uploadSessionCount() > 1 || (await front.uploadDirs(repo)).length > 1) {
        assert.ok(Date.now() < deadline, `expired sessions purged (${services.store.uploadSessionCount()} left)`);
        await feed();
        await sleep(500);
      }
      assert.equal(services.store.uploadSessionCount(), 1, 'only the live session is held in memory');
      assert.equal((await front.uploadDirs(repo)).length, 1, 'only the live session holds files');
      for (const loc of [locs[0]!, locs[1]!, locs[SESSIONS - 1]!]) {
        res = await fetch(loc, { method: 'PATCH', body: 'late' });
        assert.equal(res.status, 404, 'an expired session is unknown');
        assert.equal(await specError(res), 'BLOB_UPLOAD_UNKNOWN');
      }
      res = await fetch(`${live}?digest=${sha256(sent)}`, { method: 'PUT' });
      assert.equal(res.status, 201, 'the session in use completes');
      assert.equal(services.store.uploadSessionCount(), 0);
    } finally {
      await front.close();
    }
  });
}

test('on start, the embedded store purges sessions a stopped server left past their TTL and takes in the rest', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'aibomgen-expiry-'));
  try {
    const first = await startTestServer({ auth: 'off', dataDir, uploadSessionTtlSeconds: 3600 });
    for (let i = 0; i < 50; i++) {
      const res = await fetch(`${first.url}/v2/left/behind/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 202);
      if (i % 5 === 0)
        await fetch(new URL(res.headers.get('location')!, first.url), { method: 'PATCH', body: 'data' }).then((r) =>
          r.arrayBuffer(),
        );
    }
    await first.close();
    const uploads = join(dataDir, 'registry', 'uploads');
    const left = await readdir(uploads);
    assert.equal(left.length, 50, 'left on disk by the stopped server');
    await sleep(2100);
    // One was written to just now (as by a client still at it): it is within the TTL and stays.
    await appendFile(join(uploads, left[0]!, 'data'), 'more');
    const second = await startTestServer({ auth: 'off', dataDir, uploadSessionTtlSeconds: 2 });
    try {
      assert.deepEqual(await readdir(uploads), [left[0]], 'the expired ones purged on start');
      assert.equal(second.services.store.uploadSessionCount(), 1, 'the other taken in');
      // The sweep forgets a session first (no request can take it up while it goes), then removes its files.
      for (let i = 0; second.services.store.uploadSessionCount() > 0 || (await readdir(uploads)).length > 0; i++) {
        assert.ok(i < 100, `it expires like any other: ${(await readdir(uploads)).join(', ')}`);
        await sleep(100);
      }
      assert.deepEqual(await readdir(uploads), []);
    } finally {
      await second.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
