import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { parsePrometheusText, sampleValue } from './prom-text.ts';

async function scrape(url: string): Promise<ReturnType<typeof parsePrometheusText>> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

test('the strict parser rejects malformed expositions', () => {
  const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1"} 3\n';
  assert.equal(sampleValue(parsePrometheusText(good), 'a_total', { x: '1' }), 3);
  const bad: [string, RegExp][] = [
    ['a_total 3\n', /no TYPE/],
    ['# TYPE a_total counter\na_total{x=1} 3\n', /not quoted/],
    ['# TYPE a_total counter\na_total 3', /newline/],
    ['# TYPE a_total counter\na_total -1\n', /counter/],
    ['# TYPE a gauge\na three\n', /bad value/],
    ['# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', /cumulative/],
    ['# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', /\+Inf/],
  ];
  for (const [text, err] of bad) assert.throws(() => parsePrometheusText(text), err, text);
});

test('/metrics parses strictly and counts jobs by state, durations, registry bytes, verification failures and requests', async () => {
  // An API-only node (as beside `aibomgen worker`): it runs no jobs, so the rows this test writes stay as written.
  const srv = await startTestServer({ role: 'api' });
  try {
    const before = await scrape(srv.url);
    for (const st of ['queued', 'running', 'succeeded', 'failed', 'cancelled'])
      assert.equal(sampleValue(before, 'aibomgen_jobs', { state: st }), 0, st);
    assert.equal(sampleValue(before, 'aibomgen_job_queue_depth'), 0);

    // This test's jobs, in the real database: two queued, one running, one succeeded after 42 s of running, one
    // failed after 4 s (finished by this process or another: durations come from the rows either way).
    const row = (id: string, state: string, started?: string, finished?: string) => ({
      id,
      owner: 'metrics-test',
      kind: 'model',
      state,
      reason: null,
      spec_json: '{}',
      publication_json: null,
      runner_json: null,
      created_at: '2026-11-25T10:00:00.000Z',
      started_at: started ?? null,
      finished_at: finished ?? null,
    });
    const now = Date.now();
    const iso = (ms: number): string => new Date(ms).toISOString();
    await srv.services.db
      .insertInto('jobs')
      .values([
        row('m-q1', 'queued'),
        row('m-q2', 'queued'),
        row('m-r1', 'running', '2026-11-25T10:00:01.000Z'),
        row('m-s1', 'succeeded', iso(now - 40_000), iso(now + 2000)),
        row('m-w1', 'failed', iso(now - 3000), iso(now + 1000)),
        // Finished long before this server started: not a duration this process reports.
        row('m-old', 'cancelled', '2020-01-01T00:00:00.000Z', '2020-01-01T00:01:00.000Z'),
      ])
      .execute();

    // Registry traffic: a 1000-byte monolithic blob push.
    const blob = Buffer.alloc(1000, 7);
    const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
    const push = await fetch(`${srv.url}/v2/metrics/test/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    });
    assert.equal(push.status, 201);

    // A verification that fails (no such model) and reaches the verifier through the REST route.
    const v = await fetch(`${srv.url}/verifier/verify/models/nope:1.0.0`);
    assert.equal(v.status, 422);
    await v.arrayBuffer();
    for (let i = 0; i < 3; i++) await (await fetch(`${srv.url}/healthz`)).arrayBuffer();
    await (await fetch(`${srv.url}/no/such/page`)).arrayBuffer();

    const m = await scrape(srv.url);
    assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'queued' }), 2);
    assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'running' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'succeeded' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'failed' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_jobs', { state: 'cancelled' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'failed' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_sum', { state: 'failed' }), 4);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'cancelled' }), undefined);
    assert.equal(sampleValue(m, 'aibomgen_job_queue_depth'), 2);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'succeeded' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_sum', { state: 'succeeded' }), 42);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_bucket', { state: 'succeeded', le: '30' }), 0);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_bucket', { state: 'succeeded', le: '60' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_job_duration_seconds_count', { state: 'running' }), undefined);
    assert.equal(sampleValue(m, 'aibomgen_registry_bytes_total', { direction: 'in' }), 1000);
    assert.equal(sampleValue(m, 'aibomgen_verification_failures_total'), 1);
    assert.equal(sampleValue(m, 'aibomgen_verifications_total', { result: 'failed' }), 1);
    assert.equal(sampleValue(m, 'aibomgen_http_requests_total', { method: 'GET', route: 'healthz', status: '200' }), 3);
    assert.equal(
      sampleValue(m, 'aibomgen_http_requests_total', { method: 'POST', route: 'registry_upload', status: '201' }),
      1,
    );
    assert.equal(
      sampleValue(m, 'aibomgen_http_requests_total', { method: 'GET', route: 'verifier', status: '422' }),
      1,
    );
    assert.equal(sampleValue(m, 'aibomgen_http_requests_total', { method: 'GET', route: 'web', status: '404' }), 1);
    // The first scrape is counted by the time of the second.
    assert.equal(sampleValue(m, 'aibomgen_http_requests_total', { method: 'GET', route: 'metrics', status: '200' }), 1);
    assert.ok(m.has('process_resident_memory_bytes'), 'default process metrics are exported');

    // Each job is one observation: terminal events on the bus and another scrape (which sees the jobs finished
    // at the last sweep's boundary again) change nothing.
    srv.services.events.emit('job.event', {
      jobId: 'm-w1',
      seq: 5,
      type: 'state',
      state: 'failed',
      at: iso(now + 1000),
    });
    srv.services.events.emit('job.event', {
      jobId: 'm-s1',
      seq: 10,
      type: 'state',
      state: 'succeeded',
      at: '2026-11-25T10:00:48.000Z',
    });
    await new Promise((r) => setTimeout(r, 50));
    const again = await scrape(srv.url);
    assert.equal(sampleValue(again, 'aibomgen_job_duration_seconds_count', { state: 'failed' }), 1);
    assert.equal(sampleValue(again, 'aibomgen_job_duration_seconds_count', { state: 'succeeded' }), 1);
  } finally {
    await srv.close();
  }
});

test('two servers in one process keep separate metrics', async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  try {
    await (await fetch(`${a.url}/healthz`)).arrayBuffer();
    const mb = await scrape(b.url);
    assert.equal(sampleValue(mb, 'aibomgen_http_requests_total', { route: 'healthz' }), undefined);
    const ma = await scrape(a.url);
    assert.equal(sampleValue(ma, 'aibomgen_http_requests_total', { route: 'healthz' }), 1);
  } finally {
    await a.close();
    await b.close();
  }
});
