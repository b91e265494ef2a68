/**
 * Named kill points for the crash-consistency tests (test/registry/crash-*.test.ts). A step calls
 * `crashPoint('publish:manifest')`; when the environment says AIBOMGEN_TEST_CRASH_AT=publish:manifest, the process
 * kills itself with SIGKILL right there (on the AIBOMGEN_TEST_CRASH_NTH-th pass, default the first) — the same as a
 * `kill -9` from outside, but at a known step. Unset, a call costs one string comparison.
 */
const passes = new Map<string, number>();

/** Every point the code calls, so the tests can check they name real ones (and cover them all). */
export const CRASH_POINTS = [
  'publish:attested',
  'publish:input-manifest',
  'publish:blob',
  'publish:blobs-pushed',
  'publish:manifest',
  'publish:referrer',
  'publish:referrers-pushed',
  'publish:fallback-index',
  'publish:before-tag',
  'publish:after-tag',
  'registry:index-row',
  'registry:manifest-stored',
  'registry:tag-deleted',
  'registry:cascade-stored-deleted',
  'registry:cascade-row-deleted',
  'embedded:manifest-bytes',
  'embedded:manifest-unlinked',
  'upstream:tag-delete-intent',
  'upstream:tag-delete-deleted',
  'upstream:tag-delete-reput',
  'recovery:publication-removed',
  'recovery:before-finish',
  'reconcile:row-removed',
] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

export function crashPoint(name: CrashPointName): void {
  if (process.env.AIBOMGEN_TEST_CRASH_AT !== name) return;
  const n = (passes.get(name) ?? 0) + 1;
  passes.set(name, n);
  if (n < Number(process.env.AIBOMGEN_TEST_CRASH_NTH ?? 1)) return;
  process.kill(process.pid, 'SIGKILL');
  // The signal may land a moment after kill(2) returns: run nothing more of this step meanwhile.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
}
