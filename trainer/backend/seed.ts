/**
 * Seeds every source of randomness a training run uses. tfjs initializers take their own seeds, but
 * `model.fit` shuffles with `Math.random`, so reproducible weights need `Math.random` itself replaced
 * (seedrandom's `global` option). One process runs one job, so a global seed is the right scope.
 */
import seedrandom from 'seedrandom';

export function seedEverything(seed: number | string): void {
  seedrandom(String(seed), { global: true });
}
