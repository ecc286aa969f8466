/**
 * How well two raters agree on the judge's 0-3 scale (issue #8, part 3): exact agreement, Cohen's
 * kappa (unweighted) and quadratic-weighted kappa, with the confusion matrix they come from. Pure.
 *
 * Degenerate inputs are answered, not thrown: with no pairs every statistic is NaN, and when chance
 * agreement is already perfect (both raters always used one and the same category) kappa is 0/0,
 * reported as NaN with the reason, because "undefined" is the honest answer there.
 */

/** Categories 0..k-1; the judge's rubric has four (0, 1, 2, 3). */
export const SCORE_CATEGORIES = 4;

/** One item scored by both raters: [first rater (the judge), second rater (the human)]. */
export type ScorePair = readonly [number, number];

export interface AgreementStats {
  /** Items scored by both raters. */
  n: number;
  /** Share of items with the same score (p_o); NaN when n = 0. */
  exact: number;
  /** Agreement expected by chance from the two raters' marginals (p_e); NaN when n = 0. */
  expected: number;
  /** (p_o - p_e) / (1 - p_e); NaN when undefined (see `undefinedReason`). */
  kappa: number;
  /** Quadratic-weighted kappa: disagreements cost (i - j)^2, so 0 vs 3 weighs 9 times 0 vs 1. */
  quadraticKappa: number;
  /** confusion[i][j]: items the first rater scored i and the second j. */
  confusion: number[][];
  /** Why kappa is NaN, when it is. */
  undefinedReason?: string;
}

function checkPair(p: ScorePair, k: number): void {
  for (const s of p) if (!Number.isInteger(s) || s < 0 || s >= k) throw new RangeError(`score ${s} is outside 0..${k - 1}`);
}

export function confusionMatrix(pairs: readonly ScorePair[], k = SCORE_CATEGORIES): number[][] {
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const p of pairs) {
    checkPair(p, k);
    m[p[0]][p[1]]++;
  }
  return m;
}

/** Weighted kappa 1 - sum(w*O) / sum(w*E) over a confusion matrix; w = 0 on the diagonal. With
 * w = 1 off the diagonal this equals Cohen's (p_o - p_e) / (1 - p_e). */
function weightedKappa(m: number[][], weight: (i: number, j: number) => number): number {
  const k = m.length;
  const n = m.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  const rows = m.map((row) => row.reduce((a, b) => a + b, 0));
  const cols = m[0].map((_, j) => m.reduce((s, row) => s + row[j], 0));
  let observed = 0;
  let expected = 0;
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      observed += weight(i, j) * m[i][j];
      expected += (weight(i, j) * rows[i] * cols[j]) / n;
    }
  }
  return expected === 0 ? NaN : 1 - observed / expected;
}

export function agreementStats(pairs: readonly ScorePair[], k = SCORE_CATEGORIES): AgreementStats {
  const confusion = confusionMatrix(pairs, k);
  const n = pairs.length;
  if (n === 0) return { n, exact: NaN, expected: NaN, kappa: NaN, quadraticKappa: NaN, confusion, undefinedReason: "no item was scored by both raters" };
  let agree = 0;
  for (let i = 0; i < k; i++) agree += confusion[i][i];
  const exact = agree / n;
  const rowCounts = confusion.map((row) => row.reduce((a, b) => a + b, 0));
  const colCounts = confusion[0].map((_, j) => confusion.reduce((s, row) => s + row[j], 0));
  const expected = rowCounts.reduce((s, r, i) => s + (r / n) * (colCounts[i] / n), 0);
  // p_e = 1 exactly when both raters put every item in one and the same category; decided on the
  // integer counts, since the float sum can land a hair away from 1.
  const chancePerfect = rowCounts.some((r, i) => r === n && colCounts[i] === n);
  const kappa = chancePerfect ? NaN : (exact - expected) / (1 - expected);
  const quadraticKappa = weightedKappa(confusion, (i, j) => ((i - j) / (k - 1)) ** 2);
  return {
    n,
    exact,
    expected,
    kappa,
    quadraticKappa,
    confusion,
    ...(chancePerfect ? { undefinedReason: "both raters gave every item the same single score, so chance agreement is 1 and kappa is 0/0" } : {}),
  };
}

/** Kappa as text: "0.400", or "undefined (reason)". */
export function formatKappa(value: number, reason?: string): string {
  return Number.isNaN(value) ? `undefined${reason ? ` (${reason})` : ""}` : value.toFixed(3);
}
