/** Judge-human agreement statistics against hand-computed examples. */
import { describe, expect, it } from "vitest";
import { agreementStats, confusionMatrix, formatKappa, type ScorePair } from "../pipeline/eval/agreement.js";

const pairs = (judge: number[], human: number[]): ScorePair[] => judge.map((j, i) => [j, human[i]] as const);

describe("agreementStats", () => {
  it("matches a worked four-category example", () => {
    // judge: 0 0 0 0 1 1 2 2 3 3
    // human: 0 0 0 1 1 0 2 3 3 3
    // confusion (rows judge, columns human):
    //   0: 3 1 0 0     row sums 4 2 2 2
    //   1: 1 1 0 0     column sums 4 2 1 3
    //   2: 0 0 1 1
    //   3: 0 0 0 2
    // p_o = (3 + 1 + 1 + 2) / 10 = 0.7
    // p_e = (4*4 + 2*2 + 2*1 + 2*3) / 100 = 28 / 100 = 0.28
    // kappa = (0.7 - 0.28) / (1 - 0.28) = 0.42 / 0.72 = 7/12 = 0.58333...
    // Quadratic weights w = (i - j)^2 / 9. Observed: three cells one step off -> sum w*O = 3/9 = 30/90.
    // Expected: sum over i,j of (i - j)^2 r_i c_j = 4*33 + 2*17 + 2*21 + 2*45 = 298, so
    // sum w*E = 298 / (9 * 10) = 298/90; weighted kappa = 1 - 30/298 = 268/298 = 0.89933...
    const s = agreementStats(pairs([0, 0, 0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 0, 1, 1, 0, 2, 3, 3, 3]));
    expect(s.n).toBe(10);
    expect(s.confusion).toEqual([
      [3, 1, 0, 0],
      [1, 1, 0, 0],
      [0, 0, 1, 1],
      [0, 0, 0, 2],
    ]);
    expect(s.exact).toBeCloseTo(0.7, 12);
    expect(s.expected).toBeCloseTo(0.28, 12);
    expect(s.kappa).toBeCloseTo(7 / 12, 12);
    expect(s.quadraticKappa).toBeCloseTo(268 / 298, 12);
    expect(s.undefinedReason).toBeUndefined();
  });

  it("matches the textbook two-rater yes/no example (kappa 0.4)", () => {
    // 50 items: both yes 20, first yes / second no 5, first no / second yes 10, both no 15.
    // p_o = 35/50 = 0.7; first says yes 25/50 = 0.5, second 30/50 = 0.6;
    // p_e = 0.5*0.6 + 0.5*0.4 = 0.5; kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    const list: ScorePair[] = [
      ...Array.from({ length: 20 }, () => [1, 1] as const),
      ...Array.from({ length: 5 }, () => [1, 0] as const),
      ...Array.from({ length: 10 }, () => [0, 1] as const),
      ...Array.from({ length: 15 }, () => [0, 0] as const),
    ];
    const s = agreementStats(list);
    expect(s.exact).toBeCloseTo(0.7, 12);
    expect(s.expected).toBeCloseTo(0.5, 12);
    expect(s.kappa).toBeCloseTo(0.4, 12);
    // With two adjacent categories every disagreement has the same weight: weighted = unweighted.
    expect(s.quadraticKappa).toBeCloseTo(0.4, 12);
  });

  it("perfect agreement over several categories is kappa 1; systematic disagreement is below 0", () => {
    expect(agreementStats(pairs([0, 1, 2, 3], [0, 1, 2, 3])).kappa).toBe(1);
    // p_o = 0, p_e = (1*1 + 1*1) / 4 = 0.5 -> kappa = -1.
    expect(agreementStats(pairs([0, 3], [3, 0])).kappa).toBeCloseTo(-1, 12);
  });

  it("reports degenerate cases as undefined instead of crashing", () => {
    const same = agreementStats(pairs([2, 2, 2], [2, 2, 2]));
    expect(same.exact).toBe(1);
    expect(same.expected).toBe(1);
    expect(same.kappa).toBeNaN();
    expect(same.undefinedReason).toMatch(/chance agreement is 1/);
    expect(formatKappa(same.kappa, same.undefinedReason)).toMatch(/^undefined \(/);
    const none = agreementStats([]);
    expect(none.n).toBe(0);
    expect(none.exact).toBeNaN();
    expect(none.kappa).toBeNaN();
    // Each rater used one (different) category: p_o = 0 = p_e, kappa 0, defined.
    expect(agreementStats(pairs([2, 2], [3, 3])).kappa).toBe(0);
    expect(() => confusionMatrix([[4, 0]])).toThrow(/outside 0\.\.3/);
  });
});
