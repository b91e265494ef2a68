/**
 * Issue #16, bounded uploads and their integrity, through the real front in both store modes: the blob size
 * cap (monolithic, chunked, and a declared length far over it), the cap on open sessions per identity (429;
 * auth off, and per user and for an administrator with auth on), and one PATCH at a time per session (a second,
 * overlapping one gets 409 and the stored blob is what the first sent).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { storeModes } from './front-modes.ts';
import { specError, startHardenedFront } from './hardening-front.ts';

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const MiB = 1024 * 1024;

for (const mode of storeModes) {
  test(`a blob over AIBOMGEN_MAX_BLOB_BYTES is refused with 413 and nothing of it stays (${mode})`, async () => {
    const front = await startHardenedFront(mode, { auth: 'off', maxBlobBytes: MiB });
    const { url, services } = front.srv;
    const repo = 'cap/model';
    const base = `${url}/v2/${repo}`;
    try {
      // Monolithic, 2 MiB.
      const big = randomBytes(2 * MiB);
      let res = await fetch(`${base}/blobs/uploads/?digest=${sha256(big)}`, { method: 'POST', body: big });
      assert.equal(res.status, 413);
      const e = (await res.json()) as { errors: { code: string; message: string }[] };
      assert.equal(e.errors[0]!.code, 'SIZE_INVALID');
      assert.match(e.errors[0]!.message, /larger than 1048576 bytes/);
      res = await fetch(`${base}/blobs/${sha256(big)}`, { method: 'HEAD' });
      assert.equal(res.status, 404, 'not stored');
      // Chunked: 600 KiB fits, 600 KiB more does not; the session is gone with its data.
      res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc = new URL(res.headers.get('location')!, url).toString();
      res = await fetch(loc, { method: 'PATCH', body: big.subarray(0, 600 * 1024) });
      assert.equal(res.status, 202);
      res = await fetch(loc, { method: 'PATCH', body: big.subarray(600 * 1024, 1200 * 1024) });
      assert.equal(res.status, 413);
      assert.equal(await specError(res), 'SIZE_INVALID');
      res = await fetch(loc);
      assert.equal(res.status, 404, 'the session was removed');
      assert.equal(await specError(res), 'BLOB_UPLOAD_UNKNOWN');
      // A PATCH declaring far more than the cap is refused before its body is read, the session removed.
      res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const loc2 = new URL(res.headers.get('location')!, url).toString();
      const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(loc2, { method: 'PATCH', headers: { 'content-length': String(64 * MiB) } }, (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
          r.on('error', () => resolve({ status: r.statusCode ?? 0, body }));
        });
        // The server closes the connection after answering; the unsent rest then fails to write, which is expected.
        req.on('error', (err) => setTimeout(() => reject(err), 5000).unref());
        req.write(Buffer.alloc(64 * 1024)); // the rest is never sent: the answer must not wait for it
      });
      assert.equal(early.status, 413);
      assert.match(early.body, /SIZE_INVALID/);
      res = await fetch(loc2);
      assert.equal(res.status, 404, 'that session was removed too');
      await res.arrayBuffer();
      // Exactly the cap is accepted.
      const exact = big.subarray(0, MiB);
      res = await fetch(`${base}/blobs/uploads/?digest=${sha256(exact)}`, { method: 'POST', body: exact });
      assert.equal(res.status, 201);
      assert.deepEqual(await front.uploadDirs(repo), [], 'no upload data left');
      assert.equal(services.store.uploadSessionCount(), 0, 'no session in memory');
    } finally {
      await front.close();
    }
  });

  test(`open upload sessions are capped per identity: 429 TOOMANYREQUESTS (${mode}, auth off)`, async () => {
    const front = await startHardenedFront(mode, { auth: 'off', maxUploadSessionsPerIdentity: 5 });
    const base = `${front.srv.url}/v2/cap/sessions`;
    try {
      const locs: string[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
        assert.equal(res.status, 202);
        locs.push(new URL(res.headers.get('location')!, front.srv.url).toString());
      }
      let res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 429);
      assert.equal(await specError(res), 'TOOMANYREQUESTS');
      assert.ok(res.headers.get('retry-after'), 'Retry-After');
      res = await fetch(`${base}/blobs/uploads/?digest=${sha256('x')}`, { method: 'POST', body: 'x' });
      assert.equal(res.status, 429, 'a monolithic push opens a session too');
      await res.arrayBuffer();
      // Ending one (completed or cancelled) frees its place.
      res = await fetch(`${locs[0]}?digest=${sha256('')}`, { method: 'PUT' });
      assert.equal(res.status, 201);
      res = await fetch(locs[1]!, { method: 'DELETE' });
      assert.equal(res.status, 204);
      for (let i = 0; i < 2; i++) {
        res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
        assert.equal(res.status, 202);
      }
      res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      assert.equal(res.status, 429);
      await res.arrayBuffer();
      assert.equal(front.srv.services.store.uploadSessionCount(), 5);
    } finally {
      await front.close();
    }
  });

  test(`two overlapping PATCHes on one session: the second gets 409, the stored blob is the first's (${mode})`, async () => {
    const front = await startHardenedFront(mode, { auth: 'off' });
    const { url } = front.srv;
    const repo = 'race/model';
    const base = `${url}/v2/${repo}`;
    try {
      let res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
      const id = res.headers.get('docker-upload-uuid')!;
      const loc = new URL(res.headers.get('location')!, url).toString();
      const first = randomBytes(512 * 1024);
      const rest = randomBytes(512 * 1024);
      let push!: (b: Buffer | null) => void;
      const stream = new ReadableStream<Uint8Array>({
        start(ctrl) {
          push = (b) => (b ? ctrl.enqueue(new Uint8Array(b)) : ctrl.close());
        },
      });
      const patch1 = fetch(loc, { method: 'PATCH', body: stream, duplex: 'half' } as RequestInit);
      push(first);
      // The first PATCH is under way once its bytes reach the store's file.
      for (let i = 0; ; i++) {
        const size = await stat(front.uploadData(repo, id)).then(
          (s) => s.size,
          () => 0,
        );
        if (size > 0) break;
        assert.ok(i < 200, 'the first PATCH reached the store');
        await sleep(50);
      }
      res = await fetch(loc, { method: 'PATCH', body: 'INTERLEAVED' });
      assert.equal(res.status, 409);
      assert.equal(await specError(res), 'BLOB_UPLOAD_INVALID');
      res = await fetch(`${loc}?digest=${sha256('x')}`, { method: 'PUT', body: 'x' });
      assert.equal(res.status, 409, 'a PUT meanwhile is refused too');
      await res.arrayBuffer();
      push(rest);
      push(null);
      res = await patch1;
      assert.equal(res.status, 202);
      assert.equal(res.headers.get('range'), `0-${first.length + rest.length - 1}`);
      const all = Buffer.concat([first, rest]);
      res = await fetch(`${loc}?digest=${sha256(all)}`, { method: 'PUT' });
      assert.equal(res.status, 201);
      res = await fetch(`${base}/blobs/${sha256(all)}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), all, 'the blob is exactly what the first PATCH sent');
      // Pushing the same content again leaves the stored blob as it was: never replaced (the same file, embedded).
      const hex = sha256(all).slice(7);
      const file = join(front.srv.dataDir, 'registry', 'blobs', 'sha256', hex.slice(0, 2), hex);
      const ino = mode === 'embedded' ? (await stat(file)).ino : 0;
      res = await fetch(`${base}/blobs/uploads/?digest=${sha256(all)}`, { method: 'POST', body: all });
      assert.equal(res.status, 201);
      if (mode === 'embedded') assert.equal((await stat(file)).ino, ino, 'the stored file was not replaced');
      res = await fetch(`${base}/blobs/${sha256(all)}`);
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), all);
    } finally {
      await front.close();
    }
  });
}

test('the session cap is per identity, administrators included (auth on, embedded)', async () => {
  const front = await startHardenedFront('embedded', {
    tokens: 'alice:token-of-alice,bob:token-of-bob,root:token-of-root',
    admins: 'root',
    maxUploadSessionsPerIdentity: 3,
  });
  const open = (who: string) =>
    fetch(`${front.srv.url}/v2/${who}/cap/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${who}:token-of-${who}`).toString('base64')}` },
    });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await open('alice')).status, 202);
    let res = await open('alice');
    assert.equal(res.status, 429);
    assert.equal(await specError(res), 'TOOMANYREQUESTS');
    for (let i = 0; i < 3; i++) assert.equal((await open('bob')).status, 202, 'bob has his own allowance');
    for (let i = 0; i < 3; i++) assert.equal((await open('root')).status, 202);
    res = await open('root');
    assert.equal(res.status, 429, 'an administrator is capped too');
    await res.arrayBuffer();
  } finally {
    await front.close();
  }
});
