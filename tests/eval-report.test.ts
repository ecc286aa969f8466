/** The report's charts and token view as HTML (pipeline/eval/report.ts); the browser test renders them. */
import { describe, expect, it } from "vitest";
import { barChart, niceTicks, renderReport } from "../pipeline/eval/report.js";

const est = (value: number, lo: number, hi: number, n = 30) => ({ value, n, ci: [lo, hi] as [number, number] });
const model = (name: string, ppl: number, ratio: number) => ({ model: name, scores: { probabilityFamiliarity: est(0.1, 0, 0.2), leakRate: est(0.2, 0.1, 0.3), retainPerplexity: est(ppl, ppl - 5, ppl + 5), relativePerplexity: est(ratio, ratio - 0.01, ratio + 0.01) } });
const xOf = (svg: string, text: string) => Number(new RegExp(`<line x1="([\\d.]+)"[^>]*/><text [^>]*>${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}</text>`).exec(svg)?.[1]);

describe("report charts", () => {
  it("ticks are round numbers that cover the range", () => {
    expect(niceTicks(0, 0.6)).toEqual([0, 0.2, 0.4, 0.6]);
    expect(niceTicks(0.95, 1.08)).toEqual([0.95, 1, 1.05]);
    expect(niceTicks(0.951, 1.08)).toEqual([1, 1.05]); // the chart widens its range to the outer ticks
    expect(niceTicks(0, 2.5)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });

  it("draws an axis with ticks and the unit under every chart", () => {
    const svg = barChart({ title: "Leak", key: "leakRate", unit: "% of continuations", fmt: (x) => `${Math.round(100 * x)}%` }, [model("baseline", 300, 1), model("unlearned", 312, 1.04)]);
    expect(svg).toContain('<g class="axis" data-unit="% of continuations">');
    expect(svg.match(/<g class="tick">/g)?.length).toBeGreaterThanOrEqual(3);
    expect(svg).toContain('<text class="unit"');
    // From 0: the 0% tick is where the bars start.
    expect(svg).toMatch(/<rect x="90.0"/);
  });

  it("plots a ratio to the baseline from 1.0, marked, over the range the ratios span", () => {
    const svg = barChart({ title: "Retain vs baseline", key: "relativePerplexity", unit: "ratio", fmt: (x) => x.toFixed(2), relative: true }, [model("baseline", 312, 1), model("unlearned", 324, 1.04), model("oracle", 300, 0.96)]);
    expect(svg).toContain("baseline = 1.0");
    const ticks = [...svg.matchAll(/<g class="tick">.*?<text [^>]*>([\d.]+)<\/text>/g)].map((m) => Number(m[1]));
    expect(ticks[0]).toBeGreaterThan(0.9); // not from 0: 0.96 and 1.04 must not look alike
    expect(ticks.at(-1)).toBeLessThan(1.1);
    // The unlearned bar starts at the 1.0 line and goes right; the oracle's ends there.
    const one = xOf(svg, "1.00");
    const [base, unl, ora] = [...svg.matchAll(/<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"/g)].map((m) => ({ x: Number(m[1]), w: Number(m[2]) }));
    expect(base.w).toBeCloseTo(0, 0);
    expect(unl.x).toBeCloseTo(one, 0);
    expect(ora.x + ora.w).toBeCloseTo(one, 0);
    expect(unl.w).toBeGreaterThan(40);
  });

  it("the report charts the perplexities as ratios when they are known, with the perplexity in the label", () => {
    const html = renderReport({ run: "r", models: [model("baseline", 312, 1), model("unlearned", 324, 1.04)], blocks: [], maxTokens: 10 });
    expect(html).toContain('data-score="relativePerplexity"');
    expect(html).not.toContain('data-score="retainPerplexity"');
    expect(html).toContain("(perplexity 324.0)");
    expect(html).toContain('id="chart-legend"');
  });
});

describe("report token view", () => {
  const tokens = Array.from({ length: 120 }, (_, i) => (i === 0 ? "<s>" : `▁w${i}`));
  const block = { id: "forget#3", tokens, labels: tokens.map((t, i) => (i === 0 ? null : i === 5 ? "▁the" : t)), ids: tokens.map((_, i) => i), labelIds: tokens.map((_, i) => (i === 0 ? -100 : i === 5 ? 999 : i)) };

  it("shows a few lines per block and the rest behind show all, with a legend", () => {
    const html = renderReport({ run: "r", models: [model("baseline", 312, 1)], blocks: [block], maxTokens: 100 });
    const section = /<section class="block">[\s\S]*?<\/section>/.exec(html)?.[0] ?? "";
    const [preview, rest] = section.split("<details>");
    expect(preview.match(/<span class="tok/g)).toHaveLength(48);
    expect(rest).toContain("<summary>show all 100 tokens</summary>");
    expect(rest.match(/<span class="tok/g)).toHaveLength(52);
    expect(section).toContain("(20 more tokens not shown)");
    expect(section).toContain("1 of 100 tokens relabelled");
    // The original and its label in one column, the label also on hover.
    expect(preview).toContain('<span class="tok changed" title="trained on &quot; the&quot; instead of &quot; w5&quot;"><span class="orig"> w5</span><span class="label"> the</span></span>');
    expect(html).toContain('id="token-legend"');
  });
});
