/** Estimates with their sample size and a seeded percentile-bootstrap confidence interval. Pure. */
import { seededRandom } from "../core/hash.js";

export interface Estimate {
  value: number;
  /** Items the value was computed from (prompts, blocks, positions). */
  n: number;
  /** 95% percentile-bootstrap interval [low, high]; [value, value] when n < 2. */
  ci: [number, number];
}

export const BOOTSTRAP_RESAMPLES = 1000;

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length ? s / xs.length : NaN;
}

/** Value of (x_i weighted by w_i)-style statistics: any statistic of a resampled index multiset. */
export type IndexStatistic = (indices: Int32Array) => number;

/**
 * Percentile bootstrap of `stat` over n items: each resample draws n indices with replacement from a
 * seeded generator, so the same seed gives the same interval. Paired comparisons pass a statistic that
 * reads two aligned arrays through the same indices.
 */
export function bootstrap(n: number, stat: IndexStatistic, seed: number, resamples = BOOTSTRAP_RESAMPLES): Estimate {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const value = stat(all);
  if (n < 2) return { value, n, ci: [value, value] };
  const rand = seededRandom(seed);
  const draws = new Float64Array(resamples);
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rand() * n);
    draws[r] = stat(idx);
  }
  draws.sort();
  return { value, n, ci: [quantile(draws, 0.025), quantile(draws, 0.975)] };
}

/** Linear-interpolated quantile of sorted values. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Bootstrap of the mean of per-item values. */
export function meanEstimate(values: readonly number[], seed: number): Estimate {
  return bootstrap(values.length, (idx) => {
    let s = 0;
    for (const i of idx) s += values[i];
    return s / idx.length;
  }, seed);
}
