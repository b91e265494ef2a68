import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serve } from '@hono/node-server';
import pino from 'pino';
import { closeServices, createApp, createServices } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';

test('one JSON log line per request with request id, method, path (no query), status and ms', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-reqlog-'));
  const services = await createServices(loadConfig({}, { dataDir, port: 0 }), pino({ level: 'info' }, sink));
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
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
    await closeServices(services);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
