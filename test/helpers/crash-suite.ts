import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { CRASH_POINTS } from '../../server/ops/crash-point.ts';
import { removeBundle } from './crash-server.ts';
import { CrashWorld, SCENARIOS, type StoreMode } from './crash-scenarios.ts';

/**
 * Every scenario of crash-scenarios.ts for one store mode, one after another on one data directory (what one
 * scenario leaves is the next one's starting point), each a subtest. AIBOMGEN_TEST_CRASH_ONLY=<point> runs only
 * the scenarios starting at that point (debugging).
 */
export async function runCrashSuite(t: TestContext, mode: StoreMode, env: Record<string, string> = {}): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), `aibomgen-crash-${mode}-`));
  const dataDir = join(work, 'data');
  try {
    const world = new CrashWorld(
      mode,
      { ...env, AIBOMGEN_DATA_DIR: dataDir, AIBOMGEN_RUNNER: 'process' },
      work,
      dataDir,
    );
    await world.setUp();
    const mine = SCENARIOS.filter((s) => !s.only || s.only === mode);
    const covered = new Set(mine.flatMap((s) => [s.first.at, ...(s.restarts ?? [])]));
    const other = mode === 'embedded' ? 'upstream:' : 'embedded:';
    assert.deepEqual(
      CRASH_POINTS.filter((p) => !p.startsWith(other) && !covered.has(p)),
      [],
      'every crash point of this mode is exercised',
    );
    assert.ok(covered.size >= 20, `${covered.size} distinct crash points`);
    const only = process.env.AIBOMGEN_TEST_CRASH_ONLY;
    for (const sc of mine.filter((s) => !only || s.first.at === only)) {
      const name = `${sc.trigger} killed at ${sc.first.at}#${sc.first.nth ?? 1}${sc.restarts ? ` then ${sc.restarts.join(', ')}` : ''}`;
      await t.test(name, () => world.run(sc));
    }
  } finally {
    await removeBundle();
    await rm(work, { recursive: true, force: true });
  }
}
