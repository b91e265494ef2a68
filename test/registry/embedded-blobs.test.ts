import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { BlobFiles } from '../../server/registry/store/blob-files.ts';
import type { RegistryError } from '../../server/registry/errors.ts';

const sha = (alg: 'sha256' | 'sha512', s: string) => `${alg}:${createHash(alg).update(s).digest('hex')}`;

async function withStore(fn: (b: BlobFiles, root: string) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'blobfiles-'));
  try {
    await fn(new BlobFiles(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('chunked upload completes, reads whole and by range, sha256 and sha512', () =>
  withStore(async (b) => {
    for (const alg of ['sha256', 'sha512'] as const) {
      const u = await b.createUpload('a/b');
      await b.append('a/b', u.id, Readable.from([Buffer.from('hello ')]), 0);
      const st = await b.complete('a/b', u.id, sha(alg, 'hello world'), Readable.from([Buffer.from('world')]));
      assert.equal(await b.getUpload('a/b', u.id), null);
      assert.deepEqual(st, { digest: sha(alg, 'hello world'), size: 11 });
      assert.equal(await text((await b.read('a/b', st.digest))!.body), 'hello world');
      const part = await b.read('a/b', st.digest, { start: 6, end: 100 });
      assert.deepEqual(part!.range, { start: 6, end: 10 });
      assert.equal(await text(part!.body), 'world');
      await assert.rejects(
        b.read('a/b', st.digest, { start: 11, end: 20 }),
        (e: RegistryError) => e.code === 'RANGE_INVALID',
      );
      assert.equal(await b.stat('other', st.digest), null);
    }
  }));

test('out-of-order chunk is refused with RANGE_INVALID and appends nothing', () =>
  withStore(async (b) => {
    const u = await b.createUpload('r');
    await b.append('r', u.id, Readable.from([Buffer.from('abc')]), 0);
    await assert.rejects(
      b.append('r', u.id, Readable.from([Buffer.from('zz')]), 1),
      (e: RegistryError) => e.code === 'RANGE_INVALID' && e.status === 416,
    );
    assert.equal((await b.getUpload('r', u.id))!.offset, 3);
  }));

test('wrong digest keeps nothing: no blob file, no link, upload gone', () =>
  withStore(async (b, root) => {
    const u = await b.createUpload('r');
    await assert.rejects(
      b.complete('r', u.id, sha('sha256', 'other'), Readable.from([Buffer.from('data')])),
      (e: RegistryError) => e.code === 'DIGEST_INVALID',
    );
    assert.equal(await b.stat('r', sha('sha256', 'data')), null);
    assert.deepEqual(await readdir(join(root, 'uploads')), []);
    await assert.rejects(readdir(join(root, 'blobs')), { code: 'ENOENT' });
  }));

test('after a restart (no hash state in memory) completion re-hashes the file', () =>
  withStore(async (b, root) => {
    const u = await b.createUpload('r');
    await b.append('r', u.id, Readable.from([Buffer.from('part1')]));
    const fresh = new BlobFiles(root);
    const st = await fresh.complete('r', u.id, sha('sha256', 'part1part2'), Readable.from([Buffer.from('part2')]));
    assert.equal(st.size, 10);
  }));

test('mount links across repos; delete unlinks; cancel removes the session', () =>
  withStore(async (b) => {
    const u = await b.createUpload('src');
    const st = await b.complete('src', u.id, sha('sha256', 'x'), Readable.from([Buffer.from('x')]));
    assert.equal(await b.mount('dst', 'nowhere', st.digest), null);
    assert.deepEqual(await b.mount('dst', 'src', st.digest), st);
    assert.equal(await b.unlink('dst', st.digest), true);
    assert.equal(await b.stat('dst', st.digest), null);
    assert.ok(await b.stat('src', st.digest));
    const v = await b.createUpload('src');
    assert.equal(await b.cancel('src', v.id), true);
    assert.equal(await b.getUpload('src', v.id), null);
  }));
