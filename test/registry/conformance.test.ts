import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runConformance } from '../helpers/conformance.ts';
import { startTestServer } from '../helpers/server.ts';

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

test('OCI distribution-spec conformance: all workflows pass against the front (upstream distribution)', async (t) => {
  if (!existsSync(new URL('../helpers/distribution.ts', import.meta.url))) {
    t.skip('test/helpers/distribution.ts (upstream registry helper) has not landed yet');
    return;
  }
  const { startDistribution } = (await import('../helpers/distribution.ts' as string)) as {
    startDistribution(): Promise<{ url: string; stop(): Promise<void> }>;
  };
  const up = await startDistribution();
  const srv = await startTestServer({ registryStore: 'upstream', upstreamUrl: up.url });
  try {
    const r = await runConformance(srv.hostPort);
    assert.deepEqual(r.failures, [], `failed tests:\n${r.failures.join('\n')}`);
    assert.equal(r.failed, 0, r.output.slice(-4000));
  } finally {
    await srv.close();
    await up.stop();
  }
});
