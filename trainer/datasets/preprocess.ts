/** The definition's preprocessing, in the seed's order: normalize (per-feature min-max), clip, scale. */
import type { DatasetDefinition } from '../../schema/trainer.ts';
import type { LoadedDataset } from './types.ts';

export function preprocess(ds: LoadedDataset, pre: DatasetDefinition['preprocessing']): void {
  const { xs, n } = ds;
  const width = n ? xs.length / n : 0;
  if (pre.normalize && n) {
    for (let f = 0; f < width; f++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = xs[i * width + f]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const span = hi - lo;
      for (let i = 0; i < n; i++) xs[i * width + f] = span > 0 ? (xs[i * width + f]! - lo) / span : 0;
    }
  }
  if (pre.clip) {
    const [lo, hi] = pre.clip;
    for (let i = 0; i < xs.length; i++) xs[i] = Math.min(hi, Math.max(lo, xs[i]!));
  }
  if (pre.scale !== 1) for (let i = 0; i < xs.length; i++) xs[i] = xs[i]! * pre.scale;
}
