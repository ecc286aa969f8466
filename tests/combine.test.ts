import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CombineInput, type ForbiddenSpan, combineBlock, toHfLabels } from "../pipeline/core/combine.js";
import { type FullRows, type LogitSpace, type Rows, type TopKRows, fullToTopK } from "../pipeline/core/rows.js";

function full(rows: number[][]): FullRows {
  const V = rows[0].length;
  return { kind: "full", n: rows.length, vocabSize: V, values: Float32Array.from(rows.flat()) };
}

const repeat = (n: number, row: number[]): number[][] => Array.from({ length: n }, () => row);

/** A translation used before row 0: its tokens are forbidden at every row (row 0 included). */
const BEFORE_ROW_0 = -1;

/** Runs one block with defaults: identity map, no forbidden tokens, alpha 5, logits. */
function combine(over: Partial<CombineInput> & Pick<CombineInput, "reinforced" | "baseline">) {
  const map = over.map ?? Int32Array.from({ length: over.reinforced.n }, (_, i) => i);
  return combineBlock({ map, forbidden: [], alphas: [5], logitSpace: "logits", ...over });
}

/** Top-k rows with k chosen per row (ks[i]); `reverse` lists some rows in ascending order, since
 * nothing may depend on the order in which a row lists its tokens. */
function truncate(rows: FullRows, ks: readonly number[], reverse = false): TopKRows {
  const all = fullToTopK(rows, "full");
  const V = rows.vocabSize;
  const offsets = new Int32Array(rows.n + 1);
  const ids: number[] = [];
  const values: number[] = [];
  const floor = new Float32Array(rows.n);
  for (let i = 0; i < rows.n; i++) {
    const k = Math.min(ks[i % ks.length], V);
    const order = Array.from({ length: k }, (_, s) => i * V + s);
    if (reverse && i % 2 === 1) order.reverse();
    for (const s of order) {
      ids.push(all.ids[s]);
      values.push(all.values[s]);
    }
    offsets[i + 1] = ids.length;
    floor[i] = k === V ? -Infinity : all.values[i * V + k - 1];
  }
  return { kind: "topk", n: rows.n, vocabSize: V, offsets, ids: Int32Array.from(ids), values: Float32Array.from(values), floor };
}

describe("the combination on full rows (hand-computed)", () => {
  it("penalises a token whose reinforced value rose", () => {
    // v = [1 - 5 * (2 - 1), 0.8, 0] = [-4, 0.8, 0]
    const out = combine({ baseline: full([[1, 0.8, 0]]), reinforced: full([[2, 0.8, 0]]) });
    expect(Array.from(out.generic[0])).toEqual([1]);
    expect(out.uncertified).toEqual([0]);
  });

  it("scales the penalty with alpha, one output per alpha in the given order", () => {
    // v0 = 1 - alpha * 0.25 against v1 = 0.75: alpha 0.5 -> 0.875 (token 0); alpha 2 -> 0.5 (token 1);
    // alpha 1 -> 0.75, a tie, which goes to the smaller id.
    const out = combine({ baseline: full([[1, 0.75, 0]]), reinforced: full([[1.25, 0.75, 0]]), alphas: [0.5, 2, 1] });
    expect(out.generic.map((g) => g[0])).toEqual([0, 1, 0]);
  });

  it("leaves tokens whose reinforced value fell untouched (ReLU)", () => {
    // Without the ReLU, v0 = 0.5 + 5 * 10.5 would win; with it v = [0.5, 1].
    const out = combine({ baseline: full([[0.5, 1]]), reinforced: full([[-10, 1]]) });
    expect(out.generic[0][0]).toBe(1);
  });

  it("breaks ties towards the smallest token id", () => {
    const out = combine({ baseline: full([[0, 1, 1, 1]]), reinforced: full([[0, 1, 1, 1]]) });
    expect(out.generic[0][0]).toBe(1);
  });

  it("treats -inf values (impossible tokens) without producing NaN, even at alpha 0", () => {
    // -inf - 0 * inf would be NaN; v = -inf for both tokens, a tie that goes to token 0.
    const out = combine({ baseline: full([[-Infinity, -Infinity]]), reinforced: full([[0, 0]]), alphas: [0, 5] });
    expect(out.generic.map((g) => g[0])).toEqual([0, 0]);
  });

  it("lowers forbidden tokens to the row mean only at translated positions strictly after from", () => {
    // Row mean is 0: a forbidden token 1 drops from 6 to 0, so token 2 (value 2) wins.
    const baseline = full(repeat(4, [-3, 6, 2, -5]));
    const reinforced = full(repeat(4, [-10, -10, -10, -10]));
    // The translated position decides: original 1 -> translated 3 (> from), original 2 ->
    // translated 1 (< from), original 3 -> translated 2 (= from: the row where the translation is
    // used, not yet forbidden; whp-method.md "Forbidden tokens"). The event on token 3 (already below
    // the mean) changes nothing, but makes some token forbidden from position 1 on.
    const forbidden = [{ from: 2, tokens: [1] }, { from: 0, tokens: [3] }];
    const out = combine({ baseline, reinforced, map: Int32Array.from([0, 3, 1, 2]), forbidden });
    expect(Array.from(out.generic[0])).toEqual([1, 2, 1, 1]);
  });

  it("lowers a forbidden token to the mean, not out of the vocabulary", () => {
    // Mean 0: token 1 becomes 0, which still beats -1.
    const out = combine({ baseline: full([[-3, 6, -1, -2]]), reinforced: full([[-10, -10, -10, -10]]), forbidden: [{ from: BEFORE_ROW_0, tokens: [1] }] });
    expect(out.generic[0][0]).toBe(1);
  });

  it("never raises a forbidden token that is already below the mean", () => {
    // Token 0 (-3) is forbidden too: raised to the mean it would tie token 1 at 0 and win on id.
    const out = combine({ baseline: full([[-3, 6, -1, -2]]), reinforced: full([[-10, -10, -10, -10]]), forbidden: [{ from: BEFORE_ROW_0, tokens: [0, 1] }] });
    expect(out.generic[0][0]).toBe(1);
  });

  it("outputs -1 at masked positions and counts nothing there", () => {
    const out = combine({ baseline: full([[0, 1]]), reinforced: full(repeat(3, [0, 0])), map: Int32Array.from([-1, 0, -1]), alphas: [5, 10] });
    for (const g of out.generic) expect(Array.from(g)).toEqual([-1, 1, -1]);
    expect(out.certified.map((c) => Array.from(c))).toEqual([[1, 1, 1], [1, 1, 1]]);
    expect(out.uncertified).toEqual([0, 0]);
  });

  it("leaves no forbidden state behind for the next call", () => {
    const rows = { baseline: full([[-3, 6, 2, -5]]), reinforced: full([[-10, -10, -10, -10]]) };
    expect(combine({ ...rows, forbidden: [{ from: BEFORE_ROW_0, tokens: [1] }] }).generic[0][0]).toBe(2);
    expect(combine(rows).generic[0][0]).toBe(1);
    expect(combine({ ...rows, forbidden: [{ from: BEFORE_ROW_0, tokens: [3] }] }).generic[0][0]).toBe(1);
  });

  it("refuses inconsistent inputs", () => {
    const rows = { baseline: full([[0, 1]]), reinforced: full([[0, 1]]) };
    expect(() => combine({ ...rows, map: Int32Array.from([1]) })).toThrow(/past the 1 baseline rows/);
    expect(() => combine({ ...rows, alphas: [Number.NaN] })).toThrow(/alpha/);
    expect(() => combine({ ...rows, forbidden: [{ from: BEFORE_ROW_0, tokens: [2] }] })).toThrow(/outside the vocabulary/);
    expect(() => combine({ ...rows, reinforced: full([[0, 1, 2]]) })).toThrow(/vocabulary sizes/);
  });
});

describe("top-k rows (hand-computed)", () => {
  it("certifies a clear winner and reports a case that top-k values cannot decide", () => {
    // Baseline top-1 lists token 0 (value 0, floor 0); reinforced: token 0 rose to 1, so
    // v0 = 0 - 5 * 1 = -5, while an unlisted token may be worth up to 0. Two full rows consistent
    // with the same top-1 give different labels, so no method could certify this position.
    const reinforced = full([[1, -10, -10]]);
    const b1 = full([[0, -0.5, -100]]);
    const b2 = full([[0, -100, -0.5]]);
    expect(combine({ baseline: b1, reinforced }).generic[0][0]).toBe(1);
    expect(combine({ baseline: b2, reinforced }).generic[0][0]).toBe(2);
    expect(fullToTopK(b1, 1)).toEqual(fullToTopK(b2, 1));
    const out = combine({ baseline: fullToTopK(b1, 1), reinforced });
    expect(out.certified[0][0]).toBe(0);
    expect(out.uncertified).toEqual([1]);

    // With the reinforced value unchanged, token 0 (LB 0) beats every unlisted token (UB -0.5).
    const clear = combine({ baseline: fullToTopK(b1, 2), reinforced: fullToTopK(full([[0, -10, -10]]), 1) });
    expect(clear.generic[0][0]).toBe(0);
    expect(clear.uncertified).toEqual([0]);
  });

  it("certifies past a listed token once its exact penalty is known", () => {
    // Both rows list token 0, which rose 1 -> 2: v0 = 1 - 5 * 1 = -4 exactly. Token 1 (LB 0.5)
    // then beats it and every unlisted token (UB <= floor 0.2).
    const baseline = fullToTopK(full([[1, 0.5, 0.2, 0, 0]]), 3);
    const reinforced = fullToTopK(full([[2, 0.5, 0, 0, 0]]), 2);
    const out = combine({ baseline, reinforced });
    expect([out.generic[0][0], out.uncertified[0]]).toEqual([1, 0]);
    // Forbidden, token 0's lowered value is unknown but at most 1, and the penalty applies to it too:
    // UB = 1 - 5 * (2 - 1) = -4.
    const forbidden = combine({ baseline, reinforced, forbidden: [{ from: BEFORE_ROW_0, tokens: [0] }] });
    expect([forbidden.generic[0][0], forbidden.uncertified[0]]).toEqual([1, 0]);
  });

  it("falls back to the listed baseline token with the largest upper bound when none has a lower bound", () => {
    // Both listed tokens are forbidden, so their lowered values are unknown (LB = -inf); their
    // upper bounds tie at 1, and the smaller id wins whatever the listing order.
    const baseline: TopKRows = { kind: "topk", n: 1, vocabSize: 10, offsets: Int32Array.from([0, 2]), ids: Int32Array.from([5, 3]), values: Float32Array.from([1, 1]), floor: Float32Array.from([1]) };
    const reinforced = fullToTopK(full([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]), 1);
    const out = combine({ baseline, reinforced, forbidden: [{ from: BEFORE_ROW_0, tokens: [3, 5] }] });
    expect([out.generic[0][0], out.uncertified[0]]).toEqual([3, 1]);
  });

  it("bounds a forbidden token listed only in the reinforced row by the baseline floor", () => {
    // Full rows: v = [0 - 5 * 1, min(-0.1, mean -0.05)] = [-5, -0.1] -> token 1. From the baseline's
    // top-1 (token 0, floor 0), forbidden token 1 may be worth up to f(0, -5) = 0 > -5.
    const reinforced = full([[1, -5]]);
    const baseline = full([[0, -0.1]]);
    const forbidden = [{ from: BEFORE_ROW_0, tokens: [1] }];
    expect(combine({ baseline, reinforced, forbidden }).generic[0][0]).toBe(1);
    const out = combine({ baseline: fullToTopK(baseline, 1), reinforced, forbidden });
    expect([out.generic[0][0], out.uncertified[0]]).toEqual([0, 1]);
  });

  it("bounds a forbidden token's lowered log-probability by log(1/V), but not a logit", () => {
    // V = 1000, top-3 of 0.9 / 0.08 / 0.01; token 0 forbidden. With log-probs its lowered value is at
    // most log(1/1000) = -6.9 < log(0.08), so token 1 is certified; with logits nothing bounds it.
    const V = 1000;
    const baseline: TopKRows = { kind: "topk", n: 1, vocabSize: V, offsets: Int32Array.from([0, 3]), ids: Int32Array.from([0, 1, 2]), values: Float32Array.from([0.9, 0.08, 0.01].map(Math.log)), floor: Float32Array.from([Math.log(0.01)]) };
    const reinforced: TopKRows = { kind: "topk", n: 1, vocabSize: V, offsets: Int32Array.from([0, 1]), ids: Int32Array.from([2]), values: Float32Array.from([Math.log(0.5)]), floor: Float32Array.from([Math.log(0.05)]) };
    const forbidden = [{ from: BEFORE_ROW_0, tokens: [0] }];
    const lp = combine({ baseline, reinforced, forbidden, logitSpace: "logprobs" });
    expect([lp.generic[0][0], lp.uncertified[0]]).toEqual([1, 0]);
    const lg = combine({ baseline, reinforced, forbidden, logitSpace: "logits" });
    expect([lg.generic[0][0], lg.uncertified[0]]).toEqual([1, 1]);
  });

  it("keeps log(1/V) as the bound: a forbidden token whose row mean is just below it stays a contender", () => {
    // p = [0.4, 0.22, 0.2, 0.18]: mean log p = -1.4385 (log(1/4) = -1.386) beats log 0.22 = -1.514,
    // so the full-row label is forbidden token 0 at its lowered value. Top-3 cannot know the mean.
    const baseline = full([[0.4, 0.22, 0.2, 0.18].map(Math.log)]);
    const reinforced = full([[-5, -5, -5, -5]]);
    const forbidden = [{ from: BEFORE_ROW_0, tokens: [0] }];
    expect(combine({ baseline, reinforced, forbidden, logitSpace: "logprobs" }).generic[0][0]).toBe(0);
    const out = combine({ baseline: fullToTopK(baseline, 3), reinforced, forbidden, logitSpace: "logprobs" });
    expect([out.generic[0][0], out.uncertified[0]]).toEqual([1, 1]);
  });
});

describe("toHfLabels", () => {
  it("shifts by one, starts with -100, turns masked positions into -100 and drops the last", () => {
    expect(Array.from(toHfLabels(Int32Array.from([5, -1, 7, 9])))).toEqual([-100, 5, -100, 7]);
    expect(Array.from(toHfLabels(Int32Array.from([3])))).toEqual([-100]);
    expect(Array.from(toHfLabels(new Int32Array(0)))).toEqual([]);
  });
});

// ---- properties: top-k against full rows ----

interface Scenario {
  reinforced: FullRows;
  baseline: FullRows;
  map: Int32Array;
  forbidden: ForbiddenSpan[];
  alphas: readonly number[];
  logitSpace: LogitSpace;
  kR: number[];
  kB: number[];
}

/** Per-row log-softmax, so log-prob rows are normalised as Jensen's bound assumes. */
function logSoftmax(values: number[], V: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i += V) {
    const row = values.slice(i, i + V);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
    out.push(...row.map((x) => x - lse));
  }
  return out;
}

// Small integers make ties common (the hard case for certification); the scale makes values that
// are not exact in binary.
const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({ V: fc.integer({ min: 1, max: 7 }), nR: fc.integer({ min: 1, max: 6 }), nB: fc.integer({ min: 1, max: 6 }) })
  .chain(({ V, nR, nB }) =>
    fc.record({
      r: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: nR * V, maxLength: nR * V }),
      b: fc.array(fc.integer({ min: -5, max: 5 }), { minLength: nB * V, maxLength: nB * V }),
      scale: fc.constantFrom(1, 0.5, 0.37),
      map: fc.array(fc.integer({ min: -1, max: nB - 1 }), { minLength: nR, maxLength: nR }),
      forbidden: fc.array(fc.record({ from: fc.integer({ min: -1, max: nB }), tokens: fc.uniqueArray(fc.integer({ min: 0, max: V - 1 }), { maxLength: 3 }) }), { maxLength: 3 }),
      alphas: fc.constantFrom([5, 2.5, 10], [0, 1]),
      logitSpace: fc.constantFrom<LogitSpace>("logits", "logprobs"),
      kR: fc.array(fc.integer({ min: 1, max: V }), { minLength: 1, maxLength: nR }),
      kB: fc.array(fc.integer({ min: 1, max: V }), { minLength: 1, maxLength: nB }),
    }).map(({ r, b, scale, logitSpace, ...rest }) => {
      const values = (xs: number[]) => Float32Array.from(logitSpace === "logprobs" ? logSoftmax(xs.map((x) => x * scale), V) : xs.map((x) => x * scale));
      return {
        ...rest,
        logitSpace,
        map: Int32Array.from(rest.map),
        reinforced: { kind: "full", n: nR, vocabSize: V, values: values(r) } as FullRows,
        baseline: { kind: "full", n: nB, vocabSize: V, values: values(b) } as FullRows,
      };
    }),
  );

const run = (s: Scenario, reinforced: Rows, baseline: Rows) => combineBlock({ reinforced, baseline, map: s.map, forbidden: s.forbidden, alphas: s.alphas, logitSpace: s.logitSpace });

describe("top-k rows against full rows (properties)", () => {
  it("gives exactly the full-row labels, all certified, when the top-k rows list the whole vocabulary", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const expected = run(s, s.reinforced, s.baseline);
        const V = s.baseline.vocabSize;
        const kFull = [V];
        for (const [r, b] of [
          [truncate(s.reinforced, kFull, true), truncate(s.baseline, kFull, true)],
          [s.reinforced, truncate(s.baseline, kFull)],
          [truncate(s.reinforced, kFull), s.baseline],
        ] as const) {
          const got = run(s, r, b);
          expect(got.generic).toEqual(expected.generic);
          expect(got.uncertified).toEqual(s.alphas.map(() => 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it("labels every certified top-k position like the full rows, and counts the rest", () => {
    let certifiedTruncated = 0;
    let uncertified = 0;
    fc.assert(
      fc.property(scenarioArb, fc.boolean(), (s, reverse) => {
        const expected = run(s, s.reinforced, s.baseline);
        const r = truncate(s.reinforced, s.kR, reverse);
        const b = truncate(s.baseline, s.kB, reverse);
        for (const [rr, bb] of [[r, b], [s.reinforced, b], [r, s.baseline]] as const) {
          const got = run(s, rr, bb);
          s.alphas.forEach((_, a) => {
            let zeros = 0;
            for (let i = 0; i < s.map.length; i++) {
              if (s.map[i] < 0) expect(got.generic[a][i]).toBe(-1);
              if (got.certified[a][i] === 1) expect(got.generic[a][i]).toBe(expected.generic[a][i]);
              else zeros++;
              if (got.certified[a][i] === 1 && s.map[i] >= 0 && (rr !== s.reinforced || bb !== s.baseline)) certifiedTruncated++;
            }
            expect(got.uncertified[a]).toBe(zeros);
            uncertified += zeros;
          });
        }
      }),
      { numRuns: 500 },
    );
    // Not vacuous: truncated rows are certified often, and not always.
    expect(certifiedTruncated).toBeGreaterThan(100);
    expect(uncertified).toBeGreaterThan(100);
  });
});
