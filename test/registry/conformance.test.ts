import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runConformance } from '../helpers/conformance.ts';
import { startTestServer } from '../helpers/server.ts';
import { startFront } from './front-modes.ts';

test('OCI distribution-spec conformance: all workflows pass against the front (embedded store)', async () => {
  const srv = await startTestServer({ registryStore: 'embedded' });
  try {
    const r = await runConformance(srv.hostPort);
    assert.deepEqual(r.failures, [], `failed tests:\n${r.failures.join('\n')}`);
    assert.equal(r.failed, 0, r.output.slice(-4000));
    assert.ok(r.passed > 800, `expected the full suite to run, got ${r.passed} passes`);
  } finally {
    await srv.close();
  }
});

test('OCI distribution-spec conformance: all workflows pass against the front (upstream distribution)', async () => {
  const front = await startFront('upstream');
  try {
    const r = await runConformance(front.srv.hostPort);
    assert.deepEqual(r.failures, [], `failed tests:\n${r.failures.join('\n')}`);
    assert.equal(r.failed, 0, r.output.slice(-4000));
    assert.ok(r.passed > 800, `expected the full suite to run, got ${r.passed} passes`);
  } finally {
    await front.close();
  }
});
