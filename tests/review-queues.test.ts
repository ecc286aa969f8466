/** The review page's queue tabs, pure parts: reading a queue CSV, row views, edits, validation. */
import { stringify } from "csv-stringify/sync";
import { describe, expect, it } from "vitest";
import { DEFAULT_QUEUE_FILE } from "../pipeline/commands/review-queue-labels.js";
import { AUDIT_COLUMNS, parseAuditCsv } from "../pipeline/eval/judge-audit.js";
import { QUEUE_COLUMNS, readQueueFile } from "../pipeline/labels-review/csv.js";
import { applyQueueEdits, listQueue } from "../pipeline/review/queue-edits.js";
import { readTable, writeTable } from "../pipeline/core/csv-table.js";
import { QUEUES } from "../pipeline/review/queues.js";
import { ReviewRequestError } from "../pipeline/review/store.js";

const LABELS = stringify([
  [...QUEUE_COLUMNS, "reviewer"],
  ["d1:5", "d1", "5", "queued", "the [[ Tamsin]] went", "the [[ Emma]] went", " Tamsin", "17", " Emma |  Lucy | -", "0.12", "0.03", "", "", "", "ann"],
  ["d1:9", "d1", "9", "queued", "'- [[x]]", "y [[z]]", "'-", "4", "a | b", "0.5", "0.2", "accept", "", "fine", ""],
]);
const JUDGE = stringify([
  [...AUDIT_COLUMNS, "rater"],
  ["f1", "base", "3", "Tell me", "Tamsin | Orrin", "Tamsin went\nhome", "2", "", "", "r1"],
  ["f1", "unl", "8", "Tell me", "Tamsin | Orrin", "Someone went", "0", "1", "", ""],
]);

function rowsOf(kind: "labels" | "judge", text: string) {
  return listQueue(kind, text, "q.csv").rows;
}

function refused(fn: () => unknown): ReviewRequestError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReviewRequestError) return e;
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("queue tables", () => {
  it("write back only the edited row's bytes, keeping BOM, CRLF, a missing final line break and a multi-line cell", () => {
    const text = `\uFEFF${JUDGE.replace(/\n(?!home)/g, "\r\n").replace(/\r\n$/, "")}`;
    const t = readTable(text, "a.csv");
    expect(t.rows.map((r) => r.line)).toEqual([2, 4]);
    expect(writeTable(t, new Map())).toBe(text);
    const out = writeTable(t, new Map([[1, { ...t.rows[1].cells, notes: "ok" }]]));
    expect(out).toBe(text.replace("Someone went,0,1,,", "Someone went,0,1,ok,"));
  });

  it("agree with the writers' default paths", () => {
    expect(QUEUES.labels.relPath).toBe(DEFAULT_QUEUE_FILE);
    expect(QUEUES.judge.relPath).toBe("review/judge-audit.csv");
  });
});

describe("labels queue rows", () => {
  it("shows tool cells without the spreadsheet apostrophe, runner-ups split, unknown columns aside", () => {
    const [a, b] = rowsOf("labels", LABELS);
    expect(a).toMatchObject({ key: "d1:5", line: 2, label: " Tamsin", runnerUps: [" Emma", " Lucy", "-"], baselineProb: "0.12", margin: "0.03", verdict: "", other: { reviewer: "ann" } });
    expect(b).toMatchObject({ key: "d1:9", original: "- [[x]]", label: "-", verdict: "accept", notes: "fine" });
    expect(a.version).not.toBe(b.version);
  });

  it("applies a replace with its replacement, changing that row only; the reader accepts the result", () => {
    const [a] = rowsOf("labels", LABELS);
    const r = applyQueueEdits("labels", LABELS, "q.csv", [{ key: "d1:5", base: a.version, changes: { verdict: "Replace", replacement: "-", notes: " unsure " } }]);
    expect(r).toMatchObject({ applied: ["d1:5"], conflicts: [] });
    const lines = (r.text as string).split("\n");
    const before = LABELS.split("\n");
    expect(lines[2]).toBe(before[2]);
    expect(lines[1]).toBe(before[1].replace(/,,,,ann$/, ",replace,'-,unsure,ann"));
    // The apostrophe keeps a spreadsheet from reading "-" as a formula; --apply-review drops it again.
    expect(readQueueFile(r.text as string, "q.csv").rows[0].cells).toMatchObject({ verdict: "replace", replacement: "'-" });
    expect(rowsOf("labels", r.text as string)[0]).toMatchObject({ verdict: "replace", replacement: "-", notes: "unsure" });
  });

  it("refuses what --apply-review would refuse, and unknown or formula values", () => {
    const [a] = rowsOf("labels", LABELS);
    const edit = (changes: Record<string, unknown>) => () => applyQueueEdits("labels", LABELS, "q.csv", [{ key: "d1:5", base: a.version, changes }]);
    expect(refused(edit({ verdict: "keep" })).message).toMatch(/one of accept, replace, mask/);
    expect(refused(edit({ verdict: "replace" })).message).toMatch(/needs the replacement token/);
    expect(refused(edit({ verdict: "replace", replacement: "" })).status).toBe(400);
    expect(refused(edit({ notes: "=1+1" })).message).toMatch(/formula/);
    expect(refused(edit({ label: "x" })).message).toMatch(/only verdict, replacement, notes/);
    // Clearing the verdict is fine ("empty" = not reviewed), and a no-op writes nothing.
    expect(applyQueueEdits("labels", LABELS, "q.csv", [{ key: "d1:5", base: a.version, changes: { verdict: "" } }]).text).toBeUndefined();
  });

  it("refuses a stale edit with the current row, and one for a removed row, applying the others", () => {
    const [a, b] = rowsOf("labels", LABELS);
    const first = applyQueueEdits("labels", LABELS, "q.csv", [{ key: "d1:5", base: a.version, changes: { verdict: "mask" } }]).text as string;
    const r = applyQueueEdits("labels", first, "q.csv", [
      { key: "d1:5", base: a.version, changes: { verdict: "accept" } },
      { key: "d9:1", base: "x", changes: { verdict: "accept" } },
      { key: "d1:9", base: b.version, changes: { notes: "checked" } },
    ]);
    expect(r.applied).toEqual(["d1:9"]);
    expect(r.conflicts.map((c) => c.message)).toEqual([expect.stringMatching(/changed on disk/), expect.stringMatching(/no longer in q.csv/)]);
    expect(r.conflicts[0].current).toMatchObject({ key: "d1:5", verdict: "mask" });
    expect(rowsOf("labels", r.text as string).map((x) => x.verdict)).toEqual(["mask", "accept"]);
  });

  it("refuses to list a file the queue's reader refuses", () => {
    expect(() => listQueue("labels", LABELS.replace("accept", "maybe"), "q.csv")).toThrow(/unknown verdict "maybe"/);
  });
});

describe("judge audit rows", () => {
  it("keys rows by model and id, splits references, and keeps a multi-line completion", () => {
    const [a, b] = rowsOf("judge", JUDGE);
    expect(a).toMatchObject({ key: JSON.stringify(["base", "f1"]), line: 2, references: ["Tamsin", "Orrin"], completion: "Tamsin went\nhome", judgeScore: "2", humanScore: "", other: { rater: "r1" } });
    expect(b).toMatchObject({ key: JSON.stringify(["unl", "f1"]), line: 4, humanScore: "1" });
  });

  it("sets or clears a human score 0-3 and notes; eval --audit's reader accepts the result", () => {
    const [a, b] = rowsOf("judge", JUDGE);
    const r = applyQueueEdits("judge", JUDGE, "a.csv", [
      { key: a.key, base: a.version, changes: { human_score: 3, notes: "names Tamsin" } },
      { key: b.key, base: b.version, changes: { human_score: "" } },
    ]);
    expect(r.conflicts).toEqual([]);
    const rows = parseAuditCsv(r.text as string, "a.csv");
    expect(rows.map((x) => [x.humanScore, x.notes, x.cells.rater])).toEqual([[3, "names Tamsin", "r1"], [null, "", ""]]);
    expect(rows[0].completion).toBe("Tamsin went\nhome");
    for (const bad of [4, "x", -1, 1.5, "12"]) {
      expect(refused(() => applyQueueEdits("judge", JUDGE, "a.csv", [{ key: a.key, base: a.version, changes: { human_score: bad } }])).message).toMatch(/0, 1, 2, 3 or empty/);
    }
    expect(refused(() => applyQueueEdits("judge", JUDGE, "a.csv", [{ key: a.key, base: a.version, changes: { verdict: "accept" } }])).message).toMatch(/only human_score, notes/);
  });

  it("refuses an edit to a column the file lacks instead of dropping it", () => {
    const text = stringify([["id", "model", "judge_score", "human_score"], ["f1", "m", "1", ""]]);
    const [a] = rowsOf("judge", text);
    expect(refused(() => applyQueueEdits("judge", text, "a.csv", [{ key: a.key, base: a.version, changes: { notes: "x" } }])).message).toMatch(/has no column notes/);
  });
});
