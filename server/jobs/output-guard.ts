import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Bytes under `dir` (regular files, symlinks not followed), walked until `stopAbove` is passed: a job's output
 * can be any shape, and the walk only needs to know whether it is over the limit.
 */
export async function outputBytes(dir: string, stopAbove: number): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0 && total <= stopAbove) {
    const d = pending.pop()!;
    const entries = await readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) pending.push(p);
      else if (e.isFile())
        total += await lstat(p).then(
          (s) => s.size,
          () => 0,
        );
      if (total > stopAbove) break;
    }
  }
  return total;
}

/**
 * Watches a running job's output directory and calls `over` once it holds more than `maxBytes` (checked every
 * `everyMs`; the job is then stopped by the caller). A bind-mounted /output has no quota of its own.
 */
export function guardOutput(
  dir: string,
  maxBytes: number,
  over: (bytes: number) => void,
  everyMs = 2000,
): { stop(): void } {
  return pollSize(() => outputBytes(dir, maxBytes), maxBytes, over, everyMs);
}

/**
 * Calls `measure` every `everyMs` (never two at once) and `over` once, the first time it answers more than
 * `maxBytes`. A failed measurement counts as nothing (the next one decides).
 */
export function pollSize(
  measure: () => Promise<number>,
  maxBytes: number,
  over: (bytes: number) => void,
  everyMs: number,
): { stop(): void } {
  let busy = false;
  let fired = false;
  const timer = setInterval(() => {
    if (busy || fired) return;
    busy = true;
    void measure()
      .then((n) => {
        if (n > maxBytes && !fired) {
          fired = true;
          over(n);
        }
      })
      .catch(() => undefined)
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
