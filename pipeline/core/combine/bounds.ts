/**
 * Interval-bound bookkeeping for the combination (../combine.ts): the penalty f(b, r), row views
 * that read full and top-k rows alike, running bests over LB/UB (Tally, Top4), and the reused
 * per-vocabulary lookup tables (Scratch). No decisions here; certify.ts makes them.
 */
import type { Rows } from "../rows.js";

export const NONE = 0x7fffffff;

/** max(0, r - b), but 0 when b = -inf: then f(-inf, r) = -inf - alpha * 0 = -inf for every alpha
 * (alpha * inf would give NaN at alpha = 0). Also 0 when r = -inf, so f(b, -inf) = b. */
export function excess(b: number, r: number): number {
  return r > b && b !== -Infinity ? r - b : 0;
}

/** f(b, r) = b - alpha * max(0, r - b). Always computed as b - alpha * excess, so the exact and the
 * bounded paths produce bit-identical values. */
export function penalised(b: number, r: number, alpha: number): number {
  return b - alpha * excess(b, r);
}

/** One row as a list: token ids[idStart + s] has value vals[valStart + s]. A full row lists every
 * token in id order (ids = 0..V-1), so the same loops read both kinds. */
export interface RowView {
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

export const emptyView = (): RowView => ({ ids: new Int32Array(0), idStart: 0, vals: new Float32Array(0), valStart: 0, len: 0, floor: -Infinity, complete: false, dense: false });

export function viewRow(rows: Rows, i: number, iota: Int32Array, out: RowView): void {
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
export class Tally {
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
export class Top4 {
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
export class Scratch {
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
export const scratchFor = (V: number): Scratch => (shared?.V === V ? shared : (shared = new Scratch(V)));

/** Mean over the whole vocabulary, summed in token-id order so a complete top-k row gives exactly
 * the same float as the full row it came from. */
export function rowMean(row: RowView, s: Scratch): number {
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
