/**
 * The per-position decision of the combination (../combine.ts): bound every candidate (`gather`),
 * pick the label for one alpha and certify it against what the unlisted tokens could reach
 * (`decide`), and describe the main alpha's choice (`describe`).
 */
import { NONE, type Scratch, excess, penalised, rowMean } from "./bounds.js";
import { type Choice, RUNNER_UPS } from "./types.js";

/** What the tokens outside the candidate list can reach (alpha-independent parts). */
export interface Outside {
  /** Smallest reinforced value among tokens listed in R but not in B (non-forbidden / forbidden);
   * f(cap, r) falls with r, so these give the largest UB. NaN = no such token. */
  minR: number;
  minRForbidden: number;
  /** Some token is listed in neither row: its UB is floorB (an upper bound even if forbidden). */
  unlisted: boolean;
}

/**
 * Bounds every candidate for translated row j (the baseline's listed tokens: only they can have a
 * finite lower bound): tallies the unpenalised ones in s.fixed, keeps the four largest UBs at the
 * main alpha alpha0 in s.top (for the runner-ups), and returns how many penalised ones it stored in
 * the candidate arrays.
 */
export function gather(s: Scratch, j: number, forbidNow: boolean, meanUB: number, out: Outside, alpha0: number): number {
  // Typed arrays and row fields are read into locals: V8 then keeps them in registers.
  const { b: B, r: R, forbidFrom, mark, rSlot, cId, bLo, bHi, lbExcess, ubExcess, fixed, top } = s;
  const g = s.nextGeneration();
  const rIds = R.ids, rVals = R.vals, rIdStart = R.idStart, rValStart = R.valStart, rLen = R.len, rDense = R.dense;
  if (!rDense) {
    for (let k = 0; k < rLen; k++) {
      const t = rIds[rIdStart + k];
      mark[t] = g;
      rSlot[t] = k;
    }
  }
  // A forbidden token's lowered value is exact only when the baseline mean is known.
  const bComplete = B.complete;
  const cap = forbidNow && bComplete ? rowMean(B, s) : meanUB;
  const bIds = B.ids, bVals = B.vals, bIdStart = B.idStart, bValStart = B.valStart, bLen = B.len, rFloor = R.floor;
  fixed.reset();
  top.reset();
  let p = 0;
  for (let k = 0; k < bLen; k++) {
    const t = bIds[bIdStart + k];
    const b = bVals[bValStart + k];
    let lo = b;
    let hi = b;
    if (forbidNow && forbidFrom[t] <= j) {
      hi = b < cap ? b : cap; // min(b, mean): lowered, never raised
      lo = bComplete ? hi : -Infinity;
    }
    // An unlisted reinforced value lies in [-inf, floor]: LB(v) uses its top, UB(v) its bottom.
    const listed = rDense || mark[t] === g;
    const r = rDense ? rVals[rValStart + t] : listed ? rVals[rValStart + rSlot[t]] : rFloor;
    mark[t] = -g;
    const lbEx = excess(lo, r);
    const ubEx = listed ? excess(hi, r) : 0;
    if (lbEx === 0 && ubEx === 0) {
      fixed.add(t, lo, hi);
      top.add(t, hi);
      continue;
    }
    top.add(t, hi - alpha0 * ubEx);
    cId[p] = t;
    bLo[p] = lo;
    bHi[p] = hi;
    lbExcess[p] = lbEx;
    ubExcess[p] = ubEx;
    p++;
  }
  out.minR = NaN;
  out.minRForbidden = NaN;
  out.unlisted = false;
  if (bComplete) return p;
  let inROnly = 0;
  let minR = NaN;
  let minRForbidden = NaN;
  for (let k = 0; k < rLen; k++) {
    const t = rIds[rIdStart + k];
    if (mark[t] === -g) continue;
    inROnly++;
    const r = rVals[rValStart + k];
    if (forbidNow && forbidFrom[t] <= j) {
      if (!(r >= minRForbidden)) minRForbidden = r;
    } else if (!(r >= minR)) minR = r;
  }
  out.minR = minR;
  out.minRForbidden = minRForbidden;
  out.unlisted = bLen + inROnly < s.V;
  return p;
}

/** Picks the label for one alpha from the n penalised candidates and s.fixed, writes it to
 * generic[i] and its margin to s.margin (see Choice.margin), and returns whether it is certified. */
export function decide(s: Scratch, n: number, alpha: number, exact: boolean, meanUB: number, outside: Outside, generic: Int32Array, i: number): boolean {
  const { cId, bLo, bHi, lbExcess, ubExcess, tally } = s;
  tally.copy(s.fixed);
  for (let k = 0; k < n; k++) tally.add(cId[k], bLo[k] - alpha * lbExcess[k], bHi[k] - alpha * ubExcess[k]);
  const { best, bestLB, ub1, ub1Id, ub2 } = tally;
  if (best < 0) {
    // No candidate has a finite lower bound: fall back to the best upper bound, uncertified.
    generic[i] = ub1Id === NONE ? -1 : ub1Id;
    s.margin = NaN;
    return exact && ub1Id !== NONE;
  }
  generic[i] = best;
  let other = best === ub1Id ? ub2 : ub1;
  if (exact) {
    s.margin = bestLB - other;
    return true;
  }
  const floorB = s.b.floor;
  if (outside.unlisted && floorB > other) other = floorB;
  if (outside.minR === outside.minR) other = Math.max(other, penalised(floorB, outside.minR, alpha));
  if (outside.minRForbidden === outside.minRForbidden) {
    other = Math.max(other, penalised(Math.min(floorB, meanUB), outside.minRForbidden, alpha));
  }
  s.margin = bestLB - other;
  return bestLB > other;
}

/** Fills the main alpha's Choice entries for position i (label `best`), from the top UBs `gather`
 * kept and the margin `decide` just computed: a few reads per labelled position. Keeping those in
 * `gather`'s existing pass (not a pass of their own) is what holds the cost to ~5-8% of the bench. */
export function describe(s: Scratch, best: number, choice: Choice, i: number): void {
  choice.margin[i] = s.margin;
  // Runner-ups: the candidates' four largest UBs, less the label (or the fourth, when the label is
  // not among them); -inf (and the NONE padding) can never be a runner-up.
  const { top } = s;
  const base = i * RUNNER_UPS;
  let r = 0;
  if (top.t0 !== best && top.u0 > -Infinity) choice.runnerUps[base + r++] = top.t0;
  if (top.t1 !== best && top.u1 > -Infinity) choice.runnerUps[base + r++] = top.t1;
  if (top.t2 !== best && top.u2 > -Infinity) choice.runnerUps[base + r++] = top.t2;
  if (r < RUNNER_UPS && top.t3 !== best && top.u3 > -Infinity) choice.runnerUps[base + r++] = top.t3;
}
