/** The uncertain-label queue's pure parts: the combination's per-position figures, queue selection,
 * the CSV merge that keeps reviewers' verdicts, and applying / reverting overrides. */
import { describe, expect, it } from "vitest";
import { type CombineInput, combineBlock, RUNNER_UPS } from "../pipeline/core/combine.js";
import { type FullRows, fullToTopK } from "../pipeline/core/rows.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { mergeQueue, type QueueCells, readQueueFile, STATUS } from "../pipeline/labels-review/csv.js";
import { selectQueue } from "../pipeline/labels-review/queue.js";
import { applyVerdicts, revertOverrides, type AppliedReview } from "../pipeline/labels-review/review-file.js";
import { baselineProb, uncertaintyRow, type UncertaintyRow } from "../pipeline/labels-review/uncertainty.js";
import { verdictsFromQueue } from "../pipeline/labels-review/verdicts.js";
import type { LabelRow } from "../pipeline/schemas/labels.js";

function full(rows: number[][]): FullRows {
  return { kind: "full", n: rows.length, vocabSize: rows[0].length, values: Float32Array.from(rows.flat()) };
}
const combine = (over: Partial<CombineInput> & Pick<CombineInput, "reinforced" | "baseline">) =>
  combineBlock({ map: Int32Array.from({ length: over.reinforced.n }, (_, i) => i), forbidden: [], alphas: [5], logitSpace: "logits", ...over });

describe("the combination's figures for the main alpha (Choice)", () => {
  it("full rows: margin = v(label) - v(runner-up), runner-ups by v, softmax probability of the raw baseline value", () => {
    // v = b - 5 * relu(r - b): token 0: 2 - 5 * 1 = -3; token 1: 1; token 2: 0.5; token 3: 0.25; token 4: -1.
    const b = [2, 1, 0.5, 0.25, -1];
    const out = combine({ baseline: full([b]), reinforced: full([[3, 0, 0, 0, -2]]), alphas: [5, 0] });
    expect(out.generic[0][0]).toBe(1);
    expect(out.generic[1][0]).toBe(0); // alpha 0 would keep token 0: the figures follow alphas[0] only
    expect(out.choice.margin[0]).toBeCloseTo(0.5, 6);
    expect(Array.from(out.choice.runnerUps.slice(0, RUNNER_UPS))).toEqual([2, 3, 4]);
    const z = b.reduce((s, x) => s + Math.exp(x), 0);
    expect(baselineProb(full([b]), 0, 1, "logits")).toBeCloseTo(Math.exp(1) / z, 6);
    expect(uncertaintyRow("x", out, full([b]), [0], "logits").prob).toEqual([]); // generic[0] predicts past a 1-token block
  });

  it("log-prob rows: the probability is exp of the baseline's value, exact for top-k rows too", () => {
    const lp = [Math.log(0.6), Math.log(0.3), Math.log(0.1)];
    const out = combine({ baseline: full([lp]), reinforced: full([lp]), logitSpace: "logprobs" });
    expect(out.generic[0][0]).toBe(0);
    expect(baselineProb(full([lp]), 0, 0, "logprobs")).toBeCloseTo(0.6, 5);
    expect(baselineProb(fullToTopK(full([lp]), 1), 0, 1, "logprobs")).toBeNaN(); // not listed
    expect(out.choice.margin[0]).toBeCloseTo(Math.log(0.6) - Math.log(0.3), 5);
  });

  it("masked positions get no figures", () => {
    const out = combine({ baseline: full([[0, 1]]), reinforced: full([[0, 0], [0, 0]]), map: Int32Array.from([-1, 0]) });
    expect(Number.isNaN(out.choice.margin[0])).toBe(true);
    expect(Array.from(out.choice.runnerUps.slice(0, RUNNER_UPS))).toEqual([-1, -1, -1]);
    expect(out.choice.margin[1]).toBeCloseTo(1, 6);
  });

  it("top-k rows: margin > 0 exactly where the label is certified, and equal to the full-row margin where top-k lists everything", () => {
    const rand = seededRandom(7);
    const V = 40;
    const n = 60;
    const rows = (noise: number) => full(Array.from({ length: n }, () => Array.from({ length: V }, () => -6 * rand() + noise * rand())));
    const baseline = rows(0);
    const reinforced = rows(2);
    const input = { baseline, reinforced, map: Int32Array.from({ length: n }, (_, i) => i), forbidden: [{ from: 30, tokens: [1, 2] }], alphas: [5, 2.5], logitSpace: "logits" as const };
    const exact = combineBlock(input);
    const k5 = combineBlock({ ...input, baseline: fullToTopK(baseline, 5), reinforced: fullToTopK(reinforced, 5) });
    let uncertified = 0;
    for (let i = 0; i < n; i++) {
      expect(k5.choice.margin[i] > 0).toBe(k5.certified[0][i] === 1);
      if (!k5.certified[0][i]) uncertified++;
      else expect(k5.choice.margin[i]).toBeLessThanOrEqual(exact.choice.margin[i] + 1e-9); // a guaranteed margin never overstates
    }
    expect(uncertified).toBeGreaterThan(0);
    const kAll = combineBlock({ ...input, baseline: fullToTopK(baseline, "full"), reinforced: fullToTopK(reinforced, "full") });
    expect(Array.from(kAll.choice.margin)).toEqual(Array.from(exact.choice.margin));
    expect(Array.from(kAll.choice.runnerUps)).toEqual(Array.from(exact.choice.runnerUps));
  });

  it("uncertaintyRow lists labelled Hugging Face positions only, rounded", () => {
    const out = combine({ baseline: full([[0, 1], [1, 0], [0, 1]]), reinforced: full([[0, 0], [0, 0], [0, 0]]), map: Int32Array.from([0, -1, 2]) });
    const row = uncertaintyRow("b#0", out, full([[0, 1], [1, 0], [0, 1]]), [0, -1, 2], "logits");
    // generic = [1, -1, 1]: labels[1] = 1, labels[2] masked, generic[2] predicts past the block.
    expect(row.positions).toEqual([1]);
    expect(row.labels).toEqual([1]);
    expect(row.margin).toEqual([1]);
    expect(row.prob).toEqual([Number((Math.exp(1) / (1 + Math.exp(1))).toPrecision(6))]);
    expect(row.runnerUps).toEqual([[0]]);
  });
});

const urow = (id: string, entries: [number, number | null, number | null][]): UncertaintyRow => ({
  version: 1,
  id,
  positions: entries.map((e) => e[0]),
  labels: entries.map(() => 5),
  prob: entries.map((e) => e[2]),
  margin: entries.map((e) => e[1]),
  runnerUps: entries.map(() => [6]),
});

describe("queue selection", () => {
  const rows = [urow("a", [[1, 0.5, 0.2], [2, 0.01, 0.3], [3, null, null]]), urow("b", [[1, 0.01, 0.1], [2, 2, 0.9], [3, -0.2, 0.5]])];

  it("orders by margin (null first), then probability, then block and position; takes ceil(q * n)", () => {
    const all = selectQueue(rows, { quantile: 1 });
    expect(all.entries.map((e) => `${e.block}:${e.position}`)).toEqual(["a:3", "b:3", "b:1", "a:2", "a:1", "b:2"]);
    expect(selectQueue(rows, { quantile: 0.02 }).entries.map((e) => `${e.block}:${e.position}`)).toEqual(["a:3"]);
    const half = selectQueue(rows, { quantile: 0.5 });
    expect(half.entries).toHaveLength(3);
    expect(half.threshold).toBe(0.01);
    expect(half.total).toBe(6);
  });

  it("--max-margin alone takes every position at or under it; with a quantile, both must hold", () => {
    expect(selectQueue(rows, { maxMargin: 0.01 }).entries.map((e) => `${e.block}:${e.position}`)).toEqual(["a:3", "b:3", "b:1", "a:2"]);
    expect(selectQueue(rows, { maxMargin: 0.01, quantile: 0.34 }).entries).toHaveLength(3);
  });
});

const cells = (id: string, label = "7"): QueueCells => ({
  id,
  block: id.split(":")[0],
  position: id.split(":")[1],
  status: STATUS.queued,
  original_context: "x[[y]]z",
  translated_context: "x[[y]]z",
  label: "▁y",
  label_id: label,
  runner_ups: "▁a | ▁b",
  baseline_prob: "0.1",
  margin: "0.01",
});

describe("the queue CSV", () => {
  it("keeps every verdict and note on re-runs; a reviewed row that left the queue is kept and flagged, an untouched one dropped", () => {
    const first = mergeQueue(undefined, [cells("a:1"), cells("a:2"), cells("a:3"), cells("b:1")]).text;
    const file = readQueueFile(first, "q.csv");
    const edit = (id: string, over: Record<string, string>) => Object.assign(file.rows.find((r) => r.cells.id === id)!.cells, over);
    edit("a:1", { verdict: "replace", replacement: "▁cat" });
    edit("a:2", { notes: "look again" });
    edit("a:3", { verdict: "Mask" });
    file.header.push("Reviewer");
    for (const r of file.rows) r.cells.reviewer = r.cells.id === "a:1" ? "kim" : "";
    // a:3 and b:1 leave the queue, c:1 joins, a:1's label changed.
    const { text, report } = mergeQueue(file, [cells("c:1"), cells("a:1", "9"), cells("a:2")]);
    const again = readQueueFile(text, "q.csv");
    const byId = new Map(again.rows.map((r) => [r.cells.id, r.cells]));
    expect(again.rows.map((r) => r.cells.id)).toEqual(["c:1", "a:1", "a:2", "a:3"]);
    expect(byId.get("a:1")).toMatchObject({ verdict: "replace", replacement: "▁cat", reviewer: "kim", label_id: "9", status: STATUS.labelChanged("▁y") });
    expect(byId.get("a:2")).toMatchObject({ notes: "look again", status: STATUS.queued });
    expect(byId.get("a:3")).toMatchObject({ verdict: "Mask", status: STATUS.kept });
    expect(report).toEqual({ queued: 3, keptVerdicts: 2, keptOutside: 1, dropped: 1 });
    // Nothing changed: the same text again.
    expect(mergeQueue(again, [cells("c:1"), cells("a:1", "9"), cells("a:2")]).text).toBe(text);
  });

  it("refuses an unknown verdict, naming the file, line, column and the allowed values", () => {
    const text = `${mergeQueue(undefined, [cells("a:1"), cells("a:2")]).text}`.replace(/0\.01,,,\n$/, "0.01,reject,,\n");
    expect(() => readQueueFile(text, "q.csv")).toThrow(/q\.csv, line 3, column 12 \(verdict\): unknown verdict "reject"/);
    try {
      readQueueFile(text, "q.csv");
    } catch (e) {
      expect((e as { fix: string }).fix).toMatch(/accept, replace, mask/);
    }
  });

  it("writes tool cells a spreadsheet would run as formulas with a leading apostrophe, and reads the replacement back without it", async () => {
    const c = { ...cells("a:1"), label: "'=" };
    const file = readQueueFile(mergeQueue(undefined, [c]).text, "q.csv");
    file.rows[0].cells.verdict = "replace";
    file.rows[0].cells.replacement = "'=";
    const blocks = new Map([["a", { index: 0, length: 4 }]]);
    const seen: string[] = [];
    const v = await verdictsFromQueue(file, "q.csv", blocks, async (t) => (seen.push(t), { id: 3 }));
    expect(seen).toEqual(["="]);
    expect(v).toEqual([{ block: "a", position: 1, verdict: "replace", token: 3, text: "=" }]);
  });

  it("reports every bad verdict at once: a replacement that is not one token (with the count), an unknown block, a position out of range", async () => {
    const file = readQueueFile(mergeQueue(undefined, [cells("a:1"), cells("a:9"), cells("z:1"), cells("a:2")]).text, "q.csv");
    Object.assign(file.rows[0].cells, { verdict: "replace", replacement: "two words" });
    Object.assign(file.rows[1].cells, { verdict: "accept" });
    Object.assign(file.rows[2].cells, { verdict: "mask" });
    Object.assign(file.rows[3].cells, { verdict: "replace" });
    const blocks = new Map([["a", { index: 0, length: 4 }]]);
    const err = (await verdictsFromQueue(file, "q.csv", blocks, async () => ({ count: 2, pieces: ["▁two", "▁words"] })).then(
      () => new Error("no error"),
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(/4 verdict\(s\) cannot be applied/);
    expect(err.message).toMatch(/line 2: replacement "two words" is 2 tokens with the run's tokenizer \("▁two" "▁words"\), and must be exactly one/);
    expect(err.message).toMatch(/line 3: position "9" is not a label position of block "a" \(1 to 3\)/);
    expect(err.message).toMatch(/line 4: no block "z" in this run/);
    expect(err.message).toMatch(/line 5: verdict "replace" needs the replacement token/);
  });
});

describe("applying and reverting overrides", () => {
  const rows: LabelRow[] = [
    { id: "a", labels: [[-100, 5, 6, -100], [-100, 5, 7, -100]], uncertified: [0, 0] },
    { id: "b", labels: [[-100, 8, 9], [-100, 8, 9]], uncertified: [0, 0] },
  ];

  it("accept keeps, replace and mask set every alpha column, masked positions and unknown blocks are skipped and counted", () => {
    const res = applyVerdicts(rows, [
      { block: "a", position: 1, verdict: "accept" },
      { block: "a", position: 2, verdict: "replace", token: 42 },
      { block: "b", position: 2, verdict: "mask" },
      { block: "a", position: 3, verdict: "mask" },
      { block: "zz", position: 1, verdict: "mask" },
    ]);
    expect(res.rows[0].labels).toEqual([[-100, 5, 42, -100], [-100, 5, 42, -100]]);
    expect(res.rows[1].labels).toEqual([[-100, 8, -100], [-100, 8, -100]]);
    expect(rows[0].labels[0][2]).toBe(6); // inputs untouched
    expect(res.verdicts).toEqual({ accept: 1, replace: 1, mask: 1 });
    expect(res.skipped.map((s) => s.reason)).toEqual(["the method masks this position", "no such block in this run"]);
    const applied: AppliedReview = { file: "f", sha256: "x", verdicts: res.verdicts, skipped: 2, overrides: res.overrides };
    expect(revertOverrides(res.rows, applied)).toEqual(rows);
    // Labels that do not hold what the overrides set are not trusted.
    const edited = res.rows.map((r) => ({ ...r, labels: r.labels.map((l) => [...l]) }));
    edited[0].labels[1][2] = 1;
    expect(revertOverrides(edited, applied)).toBeUndefined();
  });
});
