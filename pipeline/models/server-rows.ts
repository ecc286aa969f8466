/**
 * Turns the per-position token lists that model servers return into TopKRows, the shape the
 * combination reads. Shared by the vLLM and SGLang providers; pure.
 *
 * Position convention: servers report, for prompt position j >= 1, the distribution that predicted
 * token j (position 0 has none). Our row i predicts token i + 1, so row i = server position i + 1. The
 * last row (predicting the token after the block) needs a position after the block: vLLM is sent the
 * block plus one extra token, so every row comes from the prompt path (see vllm.ts); SGLang's comes
 * from the generated token's top list.
 */
import { UserError } from "../core/errors.js";
import type { TopKRows } from "../core/rows.js";
import { ResponseShapeError } from "./transport-error.js";

/** Whether to keep the entry servers add for the prompt's actual next token when it is not among the
 * top k. "drop" makes every row exactly the top k, so labels depend only on the top k (and equal the
 * embedded models' labels); "keep" gives the combination one more exact value to certify with. */
export const ACTUAL_TOKEN_MODES = ["drop", "keep"] as const;
export type ActualTokenMode = (typeof ACTUAL_TOKEN_MODES)[number];

/** seen[t] === stamp: token t is already in the row being closed (duplicates are a garbled response).
 * One array for every builder, a fresh stamp per row (endRow is synchronous): allocating and zeroing a
 * vocabulary-sized array per response showed up in the client's profile. */
let seen = new Int32Array(0);
let stampCounter = 0;
function nextStamp(): number {
  if (++stampCounter >= 0x7fffffff) {
    seen.fill(0);
    stampCounter = 1;
  }
  return stampCounter;
}

export class RowsBuilder {
  private readonly offsets: Int32Array;
  private ids: Int32Array;
  private values: Float32Array;
  private readonly floor: Float32Array;
  private row = 0;
  private used = 0;
  private readonly scratchIds: number[] = [];
  private readonly scratchVals: number[] = [];

  constructor(
    readonly n: number,
    readonly vocabSize: number,
    /** Entries asked for per row; "full" = the whole vocabulary. */
    readonly k: number | "full",
    readonly actualToken: ActualTokenMode,
  ) {
    const per = k === "full" ? vocabSize : Math.min(k, vocabSize) + 1;
    this.offsets = new Int32Array(n + 1);
    this.ids = new Int32Array(n * per);
    this.values = new Float32Array(n * per);
    this.floor = new Float32Array(n);
    if (seen.length < vocabSize) seen = new Int32Array(vocabSize);
  }

  /** Adds one token of the current row. `value` -9999 (vLLM's stand-in for -inf in JSON) becomes -Infinity. */
  add(id: number, value: number): void {
    if (!Number.isInteger(id) || id < 0) throw new ResponseShapeError(`row ${this.row}: token id ${id} is not a non-negative integer`);
    if (id >= this.vocabSize) {
      throw new UserError(
        `the server returned token id ${id}, outside the local tokenizer's vocabulary (${this.vocabSize} tokens)`,
        "serve the model whose tokenizer.json the config names (`tokenizer:`), or point `tokenizer:` at the served model's tokenizer.json",
      );
    }
    if (typeof value !== "number" || Number.isNaN(value)) throw new ResponseShapeError(`row ${this.row}: value for token ${id} is not a number`);
    this.scratchIds.push(id);
    this.scratchVals.push(value <= -9999 ? -Infinity : value);
  }

  /** Closes the current row: sorts it (value descending, ties -> smaller id, as fullToTopK), keeps the
   * top k (plus the actual token when asked), and sets the floor to the k-th value. `exactTopK`: keep
   * only the top k whatever actualToken says (the row before vLLM's extra token, whose "actual token"
   * is the arbitrary extra id, not a token of the block). */
  endRow(exactTopK = false): void {
    const ids = this.scratchIds;
    const vals = this.scratchVals;
    const m = ids.length;
    const V = this.vocabSize;
    const want = this.k === "full" ? V : Math.min(this.k, V);
    if (m < want) throw new ResponseShapeError(`row ${this.row}: expected at least ${want} entries, got ${m}`);
    if (m > 64) {
      // Long rows (logits.topK: full): a general sort.
      const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => vals[b] - vals[a] || ids[a] - ids[b]);
      const [sortedIds, sortedVals] = [order.map((j) => ids[j]), order.map((j) => vals[j])];
      for (let j = 0; j < m; j++) {
        ids[j] = sortedIds[j];
        vals[j] = sortedVals[j];
      }
    }
    // Insertion sort in place: rows are short (k + 1) and usually arrive already sorted, where it is
    // linear; this loop is most of the client's CPU time per response.
    for (let j = 1; j < m && m <= 64; j++) {
      const id = ids[j];
      const v = vals[j];
      let p = j - 1;
      while (p >= 0 && (vals[p] < v || (vals[p] === v && ids[p] > id))) {
        ids[p + 1] = ids[p];
        vals[p + 1] = vals[p];
        p--;
      }
      ids[p + 1] = id;
      vals[p + 1] = v;
    }
    const keep = this.actualToken === "keep" && !exactTopK ? m : want;
    if (this.used + keep > this.ids.length) this.grow(this.used + keep);
    const stamp = nextStamp();
    for (let j = 0; j < keep; j++) {
      if (seen[ids[j]] === stamp) throw new ResponseShapeError(`row ${this.row}: token ${ids[j]} listed twice`);
      seen[ids[j]] = stamp;
      this.ids[this.used + j] = ids[j];
      this.values[this.used + j] = vals[j];
    }
    this.used += keep;
    this.floor[this.row] = want >= V ? -Infinity : vals[want - 1];
    this.offsets[++this.row] = this.used;
    ids.length = 0;
    vals.length = 0;
  }

  finish(): TopKRows {
    if (this.row !== this.n) throw new ResponseShapeError(`expected ${this.n} rows, got ${this.row}`);
    return { kind: "topk", n: this.n, vocabSize: this.vocabSize, offsets: this.offsets, ids: this.ids.slice(0, this.used), values: this.values.slice(0, this.used), floor: this.floor };
  }

  private grow(min: number): void {
    const size = Math.max(min, this.ids.length * 2);
    const ids = new Int32Array(size);
    ids.set(this.ids);
    const values = new Float32Array(size);
    values.set(this.values);
    this.ids = ids;
    this.values = values;
  }
}
