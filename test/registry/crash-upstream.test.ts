/**
 * Crash consistency, upstream store (acceptance 7 of issue #16): as crash-embedded.test.ts, with the registry
 * store a real CNCF distribution 2.8 (`docker-registry serve`) that outlives every kill of the front — including
 * kills inside the front's emulated tag removal (2.8 deletes by digest only), finished at the next start.
 */
import { test } from 'node:test';
import { startDistribution } from '../helpers/distribution.ts';
import { runCrashSuite } from '../helpers/crash-suite.ts';

test('kill -9 at every crash point, upstream distribution: no tag lost, every listed model verifies', async (t) => {
  const up = await startDistribution();
  try {
    await runCrashSuite(t, 'upstream', { AIBOMGEN_REGISTRY_STORE: 'upstream', AIBOMGEN_UPSTREAM_URL: up.url });
  } finally {
    await up.stop();
  }
});
