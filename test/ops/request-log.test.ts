import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { createApp } from '../../server/app.ts';
import { compose } from '../../server/compose.ts';
import { loadConfig } from '../../server/config.ts';

test('one JSON log line per request with request id, method, path (no query), status and ms', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n'))
        if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-reqlog-'));
  const services = await compose(
    loadConfig({}, { dataDir, port: 0, auth: 'off' }), // anonymous pushes below
    pino({ level: 'info' }, sink),
  );
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    lines.length = 0;
    const r1 = await fetch(`${url}/healthz?token=secret`, { headers: { 'x-request-id': 'req-abc' } });
    await r1.arrayBuffer();
    assert.equal(r1.headers.get('x-request-id'), 'req-abc');
    const r2 = await fetch(`${url}/v2/nope/manifests/latest`);
    await r2.arrayBuffer();
    await new Promise((r) => setImmediate(r));
    const reqs = lines.filter((l) => l.msg === 'request');
    assert.equal(reqs.length, 2, JSON.stringify(lines));
    const [a, b] = reqs;
    assert.equal(a!.requestId, 'req-abc');
    assert.equal(a!.method, 'GET');
    assert.equal(a!.path, '/healthz');
    assert.equal(a!.status, 200);
    assert.equal(typeof a!.ms, 'number');
    assert.ok(!JSON.stringify(a).includes('secret'), 'the query string is not logged');
    assert.equal(b!.path, '/v2/nope/manifests/latest');
    assert.equal(b!.status, 404);
    assert.match(String(b!.requestId), /^[0-9a-f-]{36}$/);
    assert.equal(b!.requestId, r2.headers.get('x-request-id'));

    // A blob GET is streamed to the socket by its handler: the id header and the logged status still hold.
    lines.length = 0;
    const blob = Buffer.from('0123456789');
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const put = await fetch(`${url}/v2/logs/b/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(put.status, 201);
    const r3 = await fetch(`${url}/v2/logs/b/blobs/${digest}`, {
      headers: { range: 'bytes=2-5', 'x-request-id': 'req-range' },
    });
    assert.equal(r3.status, 206);
    assert.equal(await r3.text(), '2345');
    assert.equal(r3.headers.get('x-request-id'), 'req-range');
    await new Promise((r) => setImmediate(r));
    const ranged = lines.find((l) => l.msg === 'request' && l.requestId === 'req-range');
    assert.equal(ranged?.status, 206, JSON.stringify(lines));
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await services.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
