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
 *
 * The parts: combine/types.ts (inputs and outputs), combine/bounds.ts (the penalty, row views, the
 * running bests and the lookup tables), combine/certify.ts (bounding the candidates, choosing and
 * certifying a label); this file runs them over a block and checks the inputs.
 */
import { NONE, scratchFor, viewRow } from "./combine/bounds.js";
import { type Outside, decide, describe, gather } from "./combine/certify.js";
import { type Choice, type CombineInput, type CombineOutput, RUNNER_UPS } from "./combine/types.js";

// The contract lives in combine/types.ts; every name it exported from here still is.
export { type Choice, type CombineInput, type CombineOutput, type ForbiddenSpan, RUNNER_UPS } from "./combine/types.js";

/**
 * Upper bound on a log-probability row's mean: by Jensen, mean_t log p_t <= log(mean_t p_t) =
 * log(1/V). The slack covers float32 rounding of the returned values (|log p| < 100 -> error < 1e-5)
 * and rows that sum to slightly more than 1; it only loosens the bound, never the labels.
 */
const MEAN_UB_SLACK = 1e-3;

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
