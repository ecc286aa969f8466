import { describe, expect, it } from "vitest";
import { klDivergence, leakedTerms, leakRate, perplexity, probabilityFamiliarity, relativePerplexity, taggedProbability } from "../pipeline/eval/scores.js";
import { bootstrap, meanEstimate, quantile } from "../pipeline/eval/stats.js";
import { formatEstimate, formatTable } from "../pipeline/eval/table.js";

describe("scores on hand-computed examples", () => {
  it("tagged probability sums each tagged token once", () => {
    expect(taggedProbability([0.1, 0.2, 0.7], [1, 2, 2])).toBeCloseTo(0.9, 12);
    expect(taggedProbability([0.1, 0.2, 0.7], [0])).toBeCloseTo(0.1, 12);
  });

  it("probability familiarity is the mean over prompts", () => {
    const e = probabilityFamiliarity([0.2, 0.4, 0.6], 1);
    expect(e.value).toBeCloseTo(0.4, 12);
    expect(e.n).toBe(3);
    expect(e.ci[0]).toBeLessThanOrEqual(e.value);
    expect(e.ci[1]).toBeGreaterThanOrEqual(e.value);
  });

  it("perplexity pools tokens across texts: exp(sum nll / sum tokens)", () => {
    // text 1: one token at probability 1/4; text 2: one token at probability 1 -> exp(ln 4 / 2) = 2
    expect(perplexity([{ nll: Math.log(4), tokens: 1 }, { nll: 0, tokens: 1 }], 1).value).toBeCloseTo(2, 12);
    expect(perplexity([{ nll: 3 * Math.log(5), tokens: 3 }], 1).value).toBeCloseTo(5, 12);
  });

  it("relative perplexity is the ratio of perplexities, paired by text", () => {
    const model = [{ nll: Math.log(8), tokens: 3 }, { nll: Math.log(8), tokens: 3 }];
    const base = [{ nll: 0, tokens: 3 }, { nll: 0, tokens: 3 }];
    const e = relativePerplexity(model, base, 1);
    expect(e.value).toBeCloseTo(2, 12);
    // identical per-text ratios: every resample gives the same ratio
    expect(e.ci[0]).toBeCloseTo(2, 12);
    expect(e.ci[1]).toBeCloseTo(2, 12);
    expect(() => relativePerplexity(model, base.slice(1), 1)).toThrow(/same retain texts/);
  });

  it("KL(p || q) in nats, zero for identical distributions, skipping p = 0", () => {
    expect(klDivergence([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 12);
    expect(klDivergence([0.3, 0.7], [0.3, 0.7])).toBe(0);
    expect(klDivergence([0, 1], [0.5, 0.5])).toBeCloseTo(Math.log(2), 12);
    expect(() => klDivergence([1], [0.5, 0.5])).toThrow(/length/);
  });

  it("a leak is a reference term in the completion that the prompt did not give away", () => {
    expect(leakedTerms("said Aunt", " Wendeline came home", ["Wendeline", "Aunt"])).toEqual(["Wendeline"]);
    expect(leakedTerms("made", " Tamsin's stomach", ["Tamsin"])).toEqual(["Tamsin"]);
    expect(leakedTerms("made", " Tamsinx", ["Tamsin"])).toEqual([]);
    expect(leakedTerms("Tamsin and", " Tamsin", ["Tamsin"])).toEqual([]);
    expect(leakedTerms("x", " the Harrowgate Isles (a+b)", ["Harrowgate Isles", "a+b"])).toEqual(["Harrowgate Isles", "a+b"]);
    expect(leakRate([true, false, false, true], 3).value).toBe(0.5);
  });
});

describe("bootstrap", () => {
  it("is deterministic for a seed and brackets the estimate", () => {
    const xs = [1, 5, 2, 8, 3, 9, 4, 4, 7, 0];
    const a = meanEstimate(xs, 42);
    expect(meanEstimate(xs, 42)).toEqual(a);
    expect(meanEstimate(xs, 43).ci).not.toEqual(a.ci);
    expect(a.value).toBeCloseTo(4.3, 12);
    expect(a.ci[0]).toBeLessThan(a.value);
    expect(a.ci[1]).toBeGreaterThan(a.value);
    // the standard error of the mean is ~0.9 here, so the 95% interval spans roughly 3.5 units
    expect(a.ci[1] - a.ci[0]).toBeGreaterThan(2);
    expect(a.ci[1] - a.ci[0]).toBeLessThan(5);
  });

  it("degenerates to the value with fewer than two items, and for constant data", () => {
    expect(meanEstimate([3], 1)).toEqual({ value: 3, n: 1, ci: [3, 3] });
    expect(bootstrap(5, () => 7, 1).ci).toEqual([7, 7]);
  });

  it("quantile interpolates linearly", () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, 2, 3], 0.5)).toBe(2);
  });
});

describe("comparison table", () => {
  it("formats estimates with their intervals and the sample sizes", () => {
    expect(formatEstimate({ value: 0.25, n: 4, ci: [0.1, 0.5] }, 1, true)).toBe("25.0% [10.0%, 50.0%]");
    expect(formatEstimate(undefined, 2)).toBe("-");
    const e = (v: number, n: number) => ({ value: v, n, ci: [v, v] as [number, number] });
    const text = formatTable([
      { model: "baseline", scores: { probabilityFamiliarity: e(0.2, 10), leakRate: e(0.5, 10), retainPerplexity: e(100, 3), relativePerplexity: e(1, 3), restorationKL: e(1.5, 50) } },
      { model: "oracle", scores: { probabilityFamiliarity: e(0, 10), leakRate: e(0, 10), retainPerplexity: e(99, 3) } },
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^model\s+completion leak rate\s+probability familiarity\s+retain perplexity\s+vs baseline\s+KL\(oracle\|\|model\)$/);
    expect(lines[1]).toMatch(/^baseline .*50\.0%.*0\.2000.*100\.0.*1\.000.*1\.500/);
    expect(lines[2]).toMatch(/^oracle .* - +- *$/);
    expect(lines[3]).toContain("n = 10 prompts, 3 retain texts, 50 forget positions");
  });
});
