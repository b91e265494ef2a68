import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestServer } from '../helpers/server.ts';

const sha256 = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

test('blob push (monolithic and chunked), pull with Range, and the spec errors through the real front', async () => {
  const srv = await startTestServer();
  try {
    const base = `${srv.url}/v2/team/model`;
    // monolithic POST ?digest=
    let res = await fetch(`${base}/blobs/uploads/?digest=${sha256('hello')}`, {
      method: 'POST',
      body: 'hello',
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('docker-content-digest'), sha256('hello'));
    // chunked: POST, PATCH 0-2, out-of-order PATCH → 416, PATCH 3-5, PUT
    res = await fetch(`${base}/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 202);
    const loc = new URL(res.headers.get('location')!, srv.url).toString();
    res = await fetch(loc, { method: 'PATCH', body: 'abc', headers: { 'content-range': '0-2' } });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('range'), '0-2');
    res = await fetch(loc, { method: 'PATCH', body: 'zzz', headers: { 'content-range': '1-3' } });
    assert.equal(res.status, 416);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'RANGE_INVALID');
    res = await fetch(loc, { method: 'PATCH', body: 'def', headers: { 'content-range': '3-5' } });
    assert.equal(res.status, 202);
    res = await fetch(`${loc}?digest=${sha256('abcdef')}`, { method: 'PUT' });
    assert.equal(res.status, 201);
    // pull whole, HEAD, ranged, unsatisfiable
    res = await fetch(`${base}/blobs/${sha256('abcdef')}`);
    assert.equal(await res.text(), 'abcdef');
    res = await fetch(`${base}/blobs/${sha256('abcdef')}`, { method: 'HEAD' });
    assert.equal(res.headers.get('content-length'), '6');
    res = await fetch(`${base}/blobs/${sha256('abcdef')}`, { headers: { range: 'bytes=2-3' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 2-3/6');
    assert.equal(await res.text(), 'cd');
    res = await fetch(`${base}/blobs/${sha256('abcdef')}`, { headers: { range: 'bytes=9-10' } });
    assert.equal(res.status, 416);
    await res.body?.cancel();
    // wrong digest → DIGEST_INVALID, nothing stored
    res = await fetch(`${base}/blobs/uploads/?digest=${sha256('other')}`, { method: 'POST', body: 'data' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'DIGEST_INVALID');
    res = await fetch(`${base}/blobs/${sha256('data')}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
    assert.deepEqual(await readdir(join(srv.dataDir, 'registry', 'uploads')), []);
    // bad name → NAME_INVALID
    res = await fetch(`${srv.url}/v2/Bad..Name/blobs/uploads/`, { method: 'POST' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]!.code, 'NAME_INVALID');
    // mount from another repo, delete
    res = await fetch(`${srv.url}/v2/other/blobs/uploads/?mount=${sha256('hello')}&from=team/model`, {
      method: 'POST',
    });
    assert.equal(res.status, 201);
    res = await fetch(`${srv.url}/v2/other/blobs/${sha256('hello')}`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    res = await fetch(`${srv.url}/v2/other/blobs/${sha256('hello')}`, { method: 'HEAD' });
    assert.equal(res.status, 404);
  } finally {
    await srv.close();
  }
});
