import { deriveSeed, seededRandom } from "../core/hash.js";

/**
 * Which blocks go to validation: round(n * fraction) of them (at least one when the fraction is not 0
 * and there are two blocks or more; never all), drawn with the run's seed by a seeded shuffle, so the
 * same run always holds out the same blocks. Returns sorted indices; both splits keep corpus order.
 */
export function validationIndices(n: number, fraction: number, seed: number): number[] {
  if (fraction <= 0 || n < 2) return [];
  const k = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = seededRandom(deriveSeed(seed, "validation-split"));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, k).sort((a, b) => a - b);
}
