/** Helpers shared by the trainer backend tests (backend.test.ts, backend-training.test.ts). */

/** `n` values in [−0.5, 0.5) from a fixed seed. */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0; // LCG: deterministic, independent of Math.random
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}
