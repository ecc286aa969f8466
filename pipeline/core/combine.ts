/**
 * The WHP combination (whp-method.md, "Labels" and "Top-k instead of full logits"): per aligned
 * position, v_t = b'_t - alpha * ReLU(r_t - b'_t) and generic = argmax_t v_t (ties -> smallest id),
 * where b is the baseline row at the translated position, r the reinforced row at the original
 * position, and b' lowers forbidden tokens to min(b_t, mean of the baseline row).
 *
 * Full rows and top-k rows go through the same code: every token gets an interval for b and r
 * (a listed value is exact; an unlisted one lies in [-inf, floor]), and since v rises with b and
 * falls with r, LB(v) = f(b_lo, r_hi) and UB(v) = f(b_hi, r_lo). A label is certified when its LB
 * beats every other token's UB, so a certified top-k label always equals the full-row label. A full
 * row is just a row that lists every token, which makes all intervals points.
 *
 * Pure: the outputs depend only on the inputs. For speed (>= 1M positions/s at top-20, V = 32k) the
 * per-token lookup tables are reused between calls (see `Scratch`); nothing is allocated per position.
 */
import type { LogitSpace, Rows } from "./rows.js";

/** Tokens forbidden at every translated position strictly AFTER `from`, the position where the
 * translation is used (align.ts's ForbiddenEvent fits). Not at `from` itself: whp-method.md, and the
 * reference builder, which applies at row i the forbidden lists of rows 0..i-1. It matters for a
 * one-token translation, whose row is also the anchor's last row. */
export interface ForbiddenSpan {
  readonly from: number;
  readonly tokens: readonly number[];
}

export interface CombineInput {
  /** Rows of the ORIGINAL sequence (row i predicts token i + 1). */
  readonly reinforced: Rows;
  /** Rows of the TRANSLATED sequence. */
  readonly baseline: Rows;
  /** map[i] = translated position compared with original position i; negative = masked. */
  readonly map: Int32Array;
  readonly forbidden: readonly ForbiddenSpan[];
  /** Penalty weights, e.g. [5, 2.5, 10]: one output per alpha, same order. */
  readonly alphas: readonly number[];
  readonly logitSpace: LogitSpace;
}

export interface CombineOutput {
  /** Per alpha: the generic next-token id per original position, -1 where masked. */
  readonly generic: Int32Array[];
  /** Per alpha: 1 where the label is exact or certified, or the position is masked (nothing to
   * certify); 0 where top-k values could not prove it equals the full-row label. */
  readonly certified: Uint8Array[];
  /** Per alpha: number of zeros in `certified`. */
  readonly uncertified: number[];
  /** How sure the MAIN alpha's (alphas[0]) choice is, per original position (see `Choice`). */
  readonly choice: Choice;
}

/** How many runner-up tokens `Choice` lists per position. */
export const RUNNER_UPS = 3;

/**
 * How sure the main alpha's label is, per original position i (NaN / -1 where masked). Computed only
 * for positions that get a label, from values the combination already has at hand. (The baseline's
 * probability of the label is a plain read of the baseline row: see labels-review/uncertainty.ts.)
 * - margin[i]: LB(v_generic of the label) - max over every other token t of UB(v_generic(t)), in the
 *   rows' units (logits or log-probs). For full rows the bounds are the values, so this is exactly
 *   v_generic(label) - v_generic(runner-up), the argmax's decision margin. For top-k rows it is the
 *   margin the listed values guarantee: > 0 exactly when the label is certified, <= 0 when a token
 *   the rows do not pin down might beat it. NaN when no token has a finite lower bound; +Infinity
 *   when no other token can reach a finite value.
 * - runnerUps[i * RUNNER_UPS + r]: the next tokens after the label by UB(v_generic) (= v_generic for
 *   full rows; ties -> smaller id), among the tokens the baseline row lists; -1 pads.
 */
export interface Choice {
  readonly margin: Float64Array;
  readonly runnerUps: Int32Array;
}

/**
 * Upper bound on a log-probability row's mean: by Jensen, mean_t log p_t <= log(mean_t p_t) =
 * log(1/V). The slack covers float32 rounding of the returned values (|log p| < 100 -> error < 1e-5)
 * and rows that sum to slightly more than 1; it only loosens the bound, never the labels.
 */
const MEAN_UB_SLACK = 1e-3;
const NONE = 0x7fffffff;

/** max(0, r - b), but 0 when b = -inf: then f(-inf, r) = -inf - alpha * 0 = -inf for every alpha
 * (alpha * inf would give NaN at alpha = 0). Also 0 when r = -inf, so f(b, -inf) = b. */
function excess(b: number, r: number): number {
  return r > b && b !== -Infinity ? r - b : 0;
}

/** f(b, r) = b - alpha * max(0, r - b). Always computed as b - alpha * excess, so the exact and the
 * bounded paths produce bit-identical values. */
function penalised(b: number, r: number, alpha: number): number {
  return b - alpha * excess(b, r);
}

/** One row as a list: token ids[idStart + s] has value vals[valStart + s]. A full row lists every
 * token in id order (ids = 0..V-1), so the same loops read both kinds. */
interface RowView {
  ids: Int32Array;
  idStart: number;
  vals: Float32Array;
  valStart: number;
  len: number;
  /** Upper bound on every unlisted token's value. */
  floor: number;
  /** Lists every token: its values, and for the baseline its mean, are exact. */
  complete: boolean;
  /** A full row: token t's value is vals[valStart + t], no lookup table needed. */
  dense: boolean;
}

const emptyView = (): RowView => ({ ids: new Int32Array(0), idStart: 0, vals: new Float32Array(0), valStart: 0, len: 0, floor: -Infinity, complete: false, dense: false });

function viewRow(rows: Rows, i: number, iota: Int32Array, out: RowView): void {
  const V = rows.vocabSize;
  if (rows.kind === "full") {
    out.ids = iota; out.idStart = 0; out.vals = rows.values; out.valStart = i * V; out.len = V;
    out.floor = -Infinity; out.complete = true; out.dense = true;
    return;
  }
  const start = rows.offsets[i];
  out.ids = rows.ids; out.idStart = start; out.vals = rows.values; out.valStart = start;
  out.len = rows.offsets[i + 1] - start;
  out.floor = rows.floor[i];
  out.complete = out.len >= V; // ids within a row are distinct, so V entries are all of them
  out.dense = false;
}

/**
 * Running best over a set of tokens: the argmax of LB (ties -> smallest id) and the two largest UBs
 * with the id of the largest (ties -> smallest id). Certification needs the largest UB of every
 * token but the label: ub2 if the label holds ub1, else ub1 (which is then >= UB(label) >= LB(label),
 * so the label cannot be certified anyway).
 */
class Tally {
  bestLB = -Infinity;
  best = -1;
  ub1 = -Infinity;
  ub1Id = NONE;
  ub2 = -Infinity;

  reset(): void {
    this.bestLB = -Infinity; this.best = -1; this.ub1 = -Infinity; this.ub1Id = NONE; this.ub2 = -Infinity;
  }

  copy(o: Tally): void {
    this.bestLB = o.bestLB; this.best = o.best; this.ub1 = o.ub1; this.ub1Id = o.ub1Id; this.ub2 = o.ub2;
  }

  add(t: number, lb: number, ub: number): void {
    // Only finite lower bounds can make a label: -inf never beats the initial -inf.
    if (lb > this.bestLB || (lb === this.bestLB && t < this.best)) {
      this.bestLB = lb;
      this.best = t;
    }
    if (ub > this.ub1 || (ub === this.ub1 && t < this.ub1Id)) {
      this.ub2 = this.ub1;
      this.ub1 = ub;
      this.ub1Id = t;
    } else if (ub > this.ub2) this.ub2 = ub;
  }
}

/** The four largest UBs seen, with their ids (ties -> smaller id; NONE pads), largest first: the
 * label plus three runner-ups. Plain fields, not arrays, so V8 keeps `add` as cheap as Tally's. */
class Top4 {
  u0 = -Infinity; u1 = -Infinity; u2 = -Infinity; u3 = -Infinity;
  t0 = NONE; t1 = NONE; t2 = NONE; t3 = NONE;

  reset(): void {
    this.u0 = this.u1 = this.u2 = this.u3 = -Infinity;
    this.t0 = this.t1 = this.t2 = this.t3 = NONE;
  }

  add(t: number, ub: number): void {
    if (!(ub > this.u3 || (ub === this.u3 && t < this.t3))) return;
    if (ub > this.u2 || (ub === this.u2 && t < this.t2)) {
      this.u3 = this.u2; this.t3 = this.t2;
      if (ub > this.u1 || (ub === this.u1 && t < this.t1)) {
        this.u2 = this.u1; this.t2 = this.t1;
        if (ub > this.u0 || (ub === this.u0 && t < this.t0)) {
          this.u1 = this.u0; this.t1 = this.t0; this.u0 = ub; this.t0 = t;
        } else {
          this.u1 = ub; this.t1 = t;
        }
      } else {
        this.u2 = ub; this.t2 = t;
      }
    } else {
      this.u3 = ub; this.t3 = t;
    }
  }
}

/**
 * Lookup tables of size V, reused across positions via generation stamps, so starting a position
 * costs O(1), not O(V): mark[t] = g says "listed in the reinforced row, at slot rSlot[t]", and
 * mark[t] = -g "listed in the baseline row" (set once the reinforced entry has been read).
 */
class Scratch {
  readonly mark: Int32Array;
  readonly rSlot: Int32Array;
  /** Earliest translated position at which each token is forbidden (a span's `from` + 1); NONE =
   * never. Reset after every call. */
  readonly forbidFrom: Int32Array;
  readonly iota: Int32Array;
  readonly dense: Float64Array;
  /** Candidates (tokens listed in the baseline row) whose bounds depend on alpha, stored as
   * LB(v) = bLo - alpha * lbExcess and UB(v) = bHi - alpha * ubExcess. The others (no possible
   * penalty) are tallied once in `fixed`, so each alpha only revisits the penalised ones. */
  readonly cId: Int32Array;
  readonly bLo: Float64Array;
  readonly bHi: Float64Array;
  readonly lbExcess: Float64Array;
  readonly ubExcess: Float64Array;
  /** The four largest UBs among all candidates at the main alpha (filled by `gather`): the label and
   * its runner-ups (see `describe`). */
  readonly top = new Top4();
  /** Written by `decide`: LB(label) - the largest UB among the other tokens (see Choice.margin). */
  margin = NaN;
  readonly fixed = new Tally();
  readonly tally = new Tally();
  readonly b: RowView = emptyView();
  readonly r: RowView = emptyView();
  private generation = 0;

  constructor(readonly V: number) {
    this.mark = new Int32Array(V);
    this.rSlot = new Int32Array(V);
    this.forbidFrom = new Int32Array(V).fill(NONE);
    this.iota = Int32Array.from({ length: V }, (_, t) => t);
    this.dense = new Float64Array(V);
    this.cId = new Int32Array(V);
    this.bLo = new Float64Array(V);
    this.bHi = new Float64Array(V);
    this.lbExcess = new Float64Array(V);
    this.ubExcess = new Float64Array(V);
  }

  nextGeneration(): number {
    if (++this.generation === NONE) {
      this.mark.fill(0);
      this.generation = 1;
    }
    return this.generation;
  }
}

// JavaScript runs combineBlock to completion before any other call can start, so one shared set of
// tables per vocabulary size is safe and saves ~2 MB of allocation per block at V = 32k.
let shared: Scratch | undefined;
const scratchFor = (V: number): Scratch => (shared?.V === V ? shared : (shared = new Scratch(V)));

/** Mean over the whole vocabulary, summed in token-id order so a complete top-k row gives exactly
 * the same float as the full row it came from. */
function rowMean(row: RowView, s: Scratch): number {
  const V = s.V;
  let sum = 0;
  if (row.dense) {
    for (let t = 0; t < V; t++) sum += row.vals[row.valStart + t];
  } else {
    s.dense.fill(-Infinity);
    for (let k = 0; k < row.len; k++) s.dense[row.ids[row.idStart + k]] = row.vals[row.valStart + k];
    for (let t = 0; t < V; t++) sum += s.dense[t];
  }
  return sum / V;
}

/** What the tokens outside the candidate list can reach (alpha-independent parts). */
interface Outside {
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
function gather(s: Scratch, j: number, forbidNow: boolean, meanUB: number, out: Outside, alpha0: number): number {
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
function decide(s: Scratch, n: number, alpha: number, exact: boolean, meanUB: number, outside: Outside, generic: Int32Array, i: number): boolean {
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
function describe(s: Scratch, best: number, choice: Choice, i: number): void {
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

/** Combines one block: see the module comment. Throws on inconsistent inputs. */
export function combineBlock(input: CombineInput): CombineOutput {
  const { reinforced, baseline, map, alphas } = input;
  checkInput(input);
  const V = baseline.vocabSize;
  const s = scratchFor(V);
  const meanUB = input.logitSpace === "logprobs" ? Math.log(1 / V) + MEAN_UB_SLACK : Infinity;
  const n = map.length;
  const generic = alphas.map(() => new Int32Array(n).fill(-1));
  const certified = alphas.map(() => new Uint8Array(n).fill(1));
  const uncertified = alphas.map(() => 0);
  const choice: Choice = { margin: new Float64Array(n).fill(NaN), runnerUps: new Int32Array(n * RUNNER_UPS).fill(-1) };
  const outside: Outside = { minR: NaN, minRForbidden: NaN, unlisted: false };
  const touched: number[] = [];
  let firstFrom = NONE;
  try {
    for (const ev of input.forbidden) {
      const from = Math.max(0, Math.min(ev.from + 1, NONE)); // strictly after the row of use
      for (const t of ev.tokens) {
        if (from < s.forbidFrom[t]) s.forbidFrom[t] = from;
        touched.push(t);
        if (from < firstFrom) firstFrom = from;
      }
    }
    for (let i = 0; i < n; i++) {
      const j = map[i];
      if (j < 0) continue;
      viewRow(baseline, j, s.iota, s.b);
      viewRow(reinforced, i, s.iota, s.r);
      const count = gather(s, j, j >= firstFrom, meanUB, outside, alphas.length ? alphas[0] : 0);
      const exact = s.b.complete && s.r.complete;
      for (let a = 0; a < alphas.length; a++) {
        if (!decide(s, count, alphas[a], exact, meanUB, outside, generic[a], i)) {
          certified[a][i] = 0;
          uncertified[a]++;
        }
        if (a === 0 && generic[0][i] >= 0) describe(s, generic[0][i], choice, i);
      }
    }
  } finally {
    for (const t of touched) s.forbidFrom[t] = NONE;
  }
  return { generic, certified, uncertified, choice };
}

function checkInput({ reinforced, baseline, map, forbidden, alphas }: CombineInput): void {
  const V = baseline.vocabSize;
  if (!Number.isInteger(V) || V < 1 || reinforced.vocabSize !== V) {
    throw new Error(`vocabulary sizes differ or are invalid: reinforced ${reinforced.vocabSize}, baseline ${V}`);
  }
  if (map.length !== reinforced.n) throw new Error(`map has ${map.length} entries but the reinforced rows have ${reinforced.n}`);
  for (let i = 0; i < map.length; i++) {
    if (map[i] >= baseline.n) throw new Error(`map[${i}] = ${map[i]} is past the ${baseline.n} baseline rows`);
  }
  for (const a of alphas) if (!(Number.isFinite(a) && a >= 0)) throw new Error(`alpha must be finite and >= 0, got ${a}`);
  for (const ev of forbidden) {
    if (!Number.isInteger(ev.from)) throw new Error(`forbidden event position must be an integer, got ${ev.from}`);
    for (const t of ev.tokens) if (!(Number.isInteger(t) && t >= 0 && t < V)) throw new Error(`forbidden token ${t} is outside the vocabulary (size ${V})`);
  }
  for (const rows of [reinforced, baseline]) {
    if (rows.kind === "full") {
      if (rows.values.length < rows.n * V) throw new Error(`full rows hold ${rows.values.length} values, expected ${rows.n} x ${V}`);
      continue;
    }
    if (rows.offsets.length !== rows.n + 1 || rows.floor.length !== rows.n) throw new Error("top-k rows: offsets or floor have the wrong length");
    for (let i = 0; i < rows.n; i++) {
      const len = rows.offsets[i + 1] - rows.offsets[i];
      if (len < 0 || len > V) throw new Error(`top-k row ${i} lists ${len} tokens (vocabulary ${V})`);
    }
    const { ids } = rows;
    const end = rows.offsets[rows.n];
    if (end > ids.length || end > rows.values.length) throw new Error("top-k rows: offsets run past ids/values");
    for (let k = rows.offsets[0]; k < end; k++) if (!(ids[k] >= 0 && ids[k] < V)) throw new Error(`top-k token id ${ids[k]} is outside the vocabulary (size ${V})`);
  }
}

/**
 * Hugging Face labels: same length as input_ids, labels[t] is the target for token t (the trainer
 * shifts internally). generic[t - 1] predicts token t, so labels[0] = -100, masked -> -100, and
 * generic[n - 1] (which predicts the token after the block) is dropped.
 */
export function toHfLabels(generic: Int32Array): Int32Array {
  const labels = new Int32Array(generic.length);
  if (labels.length > 0) labels[0] = -100;
  for (let t = 1; t < generic.length; t++) labels[t] = generic[t - 1] >= 0 ? generic[t - 1] : -100;
  return labels;
}
