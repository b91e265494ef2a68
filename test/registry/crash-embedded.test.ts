/**
 * Crash consistency, embedded store (acceptance 7 of issue #16): the real server, a child process, kills itself
 * with SIGKILL at one named step (server/ops/crash-point.ts) of a publication, a tag move, a tag removal, or the
 * recovery and reconcile that follow; it is restarted on the same data directory until a clean start, then: no
 * tag is lost, every listed model verifies, the job ended failed (nothing of it left) or succeeded with a
 * publication that verifies, and the index holds no manifest the store lacks and no orphaned referrer.
 */
import { test } from 'node:test';
import { runCrashSuite } from '../helpers/crash-suite.ts';

test('kill -9 at every crash point, embedded store: no tag lost, every listed model verifies', async (t) => {
  await runCrashSuite(t, 'embedded');
});
