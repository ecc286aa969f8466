import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { consolidate } from "../pipeline/anchors/consolidate.js";
import { parseAnswer } from "../pipeline/anchors/parse.js";
import { isUntouched, mergeReview, readReviewFile, type ProposedRow } from "../pipeline/anchors/review-csv.js";
import { safeCell } from "../pipeline/core/csv-table.js";
import { parseDictionaryCsv } from "../pipeline/stages/dictionary.js";

const ROOT = resolve(import.meta.dirname, "..");

const prop = (term: string, cands: [string, number][], category = "person"): ProposedRow => ({
  term,
  category,
  candidates: cands.map(([text, count]) => ({ text, count })),
  source: "llm:test",
  occurrences: 3,
  blocks: 2,
  examples: [`... ${term} walked ...`],
  flags: [],
});

const merge = (text: string | undefined, rows: ProposedRow[]) => mergeReview(text === undefined ? undefined : readReviewFile(text, "r.csv"), rows);

describe("review file merge", () => {
  it("writes new terms as pending rows the dictionary stage reads but does not use", () => {
    const { text, report } = merge(undefined, [prop("Tamsin", [["Emma", 3], ["Lucy", 1]]), prop("Orrin", [["Tom", 1]])]);
    expect(report.added).toEqual(["Orrin", "Tamsin"]);
    expect(text.split("\n")[0]).toBe("term,translations,category,notes,status,proposed,source,occurrences,blocks,examples,flags");
    expect(text).toContain("Tamsin,Emma|Lucy,person,,pending,Emma (3)|Lucy (1),llm:test,3,2");
    const parsed = parseDictionaryCsv(text, "r.csv");
    expect(parsed.entries).toEqual([]);
    expect(parsed.notApproved.map((n) => n.status)).toEqual(["pending", "pending"]);
  });

  it("re-running after a reviewer edited rows keeps every edited row byte for byte, in order, with unknown columns", async () => {
    const first = merge(undefined, [prop("Tamsin", [["Emma", 3]]), prop("Orrin", [["Tom", 1]]), prop("Vane", [["Morgan", 1]]), prop("Fitch", [["bird", 1]], "creature")]).text;
    // The reviewer: approves Tamsin with an edited candidate list and a note holding a comma, a quote
    // and a newline; rejects Vane; adds a column of their own; leaves Orrin and Fitch pending.
    const lines = first.split("\n");
    lines[0] += ",reviewer";
    const edited = lines
      .map((l, i) => (i === 0 || l === "" ? l : `${l},`))
      .map((l) => l.replace(/^Tamsin,Emma,person,,pending,/, 'Tamsin,Emma|Clara,person,"heroine, ""Tam""\nsee ch. 2",approved,'))
      .map((l) => l.replace(/^Vane,Morgan,person,,pending,/, "Vane,Morgan,person,not a name here,rejected,"))
      .map((l) => (l.startsWith("Tamsin") ? l.replace(/,$/, ",ana") : l));
    const reviewed = edited.join("\n");
    const before = readReviewFile(reviewed, "r.csv");
    const tamsinRaw = before.rows.find((r) => r.cells.term === "Tamsin")!.raw!;
    const vaneRaw = before.rows.find((r) => r.cells.term === "Vane")!.raw!;
    expect(tamsinRaw).toContain("heroine");

    const { text, report } = merge(reviewed, [prop("Tamsin", [["Emma", 5], ["Sarah", 2]]), prop("Orrin", [["Tom", 2], ["Ben", 1]]), prop("Vane", [["Reed", 1]]), prop("Aldous", [["Arthur", 1]])]);
    expect(text).toContain(tamsinRaw);
    expect(text).toContain(vaneRaw);
    const after = readReviewFile(text, "r.csv");
    expect(after.rows.map((r) => r.cells.term)).toEqual(["Fitch", "Orrin", "Tamsin", "Vane", "Aldous"]);
    const tamsin = after.rows[2].cells;
    expect(tamsin).toMatchObject({ translations: "Emma|Clara", status: "approved", notes: 'heroine, "Tam"\nsee ch. 2', reviewer: "ana" });
    expect(after.rows[1].cells).toMatchObject({ translations: "Tom|Ben", status: "pending", proposed: "Tom (2)|Ben (1)" });
    expect(after.rows[0].cells).toMatchObject({ term: "Fitch", translations: "bird", status: "pending" });
    expect(after.rows[4].cells).toMatchObject({ term: "Aldous", status: "pending", reviewer: "" });
    expect(report).toMatchObject({ added: ["Aldous"], refreshed: ["Orrin"], kept: ["Tamsin", "Vane"] });
    // New candidates for a reviewed term are not applied, they are reported; a rejected term is left alone.
    // (line: where the record ends, as the dictionary stage counts; its note spans lines 4-5)
    expect(report.conflicts).toEqual([{ term: "Tamsin", line: 5, newCandidates: ["Sarah"] }]);
    // Merging again with the same proposals changes nothing.
    expect(merge(text, [prop("Tamsin", [["Emma", 5], ["Sarah", 2]]), prop("Orrin", [["Tom", 2], ["Ben", 1]]), prop("Vane", [["Reed", 1]]), prop("Aldous", [["Arthur", 1]])]).text).toBe(text);
    // And the dictionary stage still reads it, using only the approved row.
    expect(parseDictionaryCsv(text, "r.csv").entries).toEqual([{ term: "Tamsin", translations: ["Emma", "Clara"], category: "person" }]);
  });

  it("a pending row whose translations or notes a human changed counts as reviewed", () => {
    expect(isUntouched({ status: "pending", translations: "Emma|Lucy", proposed: "Emma (2)|Lucy (1)", notes: "" })).toBe(true);
    expect(isUntouched({ status: "pending", translations: "Emma", proposed: "Emma (2)|Lucy (1)", notes: "" })).toBe(false);
    expect(isUntouched({ status: "pending", translations: "Emma|Lucy", proposed: "Emma (2)|Lucy (1)", notes: "check" })).toBe(false);
    expect(isUntouched({ status: "approved", translations: "Emma|Lucy", proposed: "Emma (2)|Lucy (1)", notes: "" })).toBe(false);
  });

  it("keeps the shipped hand-written dictionary byte for byte, adding only the tool columns, and keeps CRLF and a BOM", async () => {
    const demo = await readFile(join(ROOT, "anchors", "demo.csv"), "utf8");
    const { text, report } = merge(demo, [prop("Tamsin", [["Zoe", 1]]), prop("Newterm", [["Plain", 1]], "object")]);
    expect(report.columnsAdded).toEqual(["proposed", "source", "occurrences", "blocks", "examples", "flags"]);
    const oldLines = demo.trimEnd().split("\n");
    const newLines = text.trimEnd().split("\n");
    for (let i = 1; i < oldLines.length; i++) expect(newLines[i]).toBe(`${oldLines[i]},,,,,,`);
    expect(newLines.at(-1)).toMatch(/^Newterm,Plain,object,,pending,/);
    expect(parseDictionaryCsv(text, "d.csv").entries).toEqual(parseDictionaryCsv(demo, "d.csv").entries);

    const crlf = "\uFEFFterm,translations,category,notes,status\r\nTamsin,Emma,person,,approved\r\n";
    const out = merge(crlf, [prop("Orrin", [["Tom", 1]])]).text;
    expect(out.startsWith("\uFEFFterm,translations,category,notes,status,proposed")).toBe(true);
    expect(out).toContain("\r\nTamsin,Emma,person,,approved,,,,,,\r\nOrrin,Tom,");
    expect(out.endsWith("\r\n")).toBe(true);
  });

  it("never writes a formula into a cell, and leaves out terms it cannot write safely", () => {
    expect(safeCell("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(safeCell("Emma")).toBe("Emma");
    const p = prop("Tamsin", [["Emma", 1]]);
    p.examples = ["=cmd|' /C calc'!A0"];
    const { text, report } = merge(undefined, [p, prop("=SUM(A1)", [["x", 1]]), prop("Orrin", [["@Tom", 1]])]);
    expect(text).toContain("'=cmd");
    expect(text).not.toContain("=SUM");
    expect(report.unsafe.map((u) => u.term)).toEqual(["=SUM(A1)", "Orrin"]);
  });

  it("refuses a file it cannot read instead of overwriting it", () => {
    expect(() => readReviewFile('term,translations,category,notes\n"Tamsin,Emma\n', "r.csv")).toThrow(/not valid CSV/);
    expect(() => readReviewFile("term,translations\nTamsin,Emma\n", "r.csv")).toThrow(/missing column/);
  });
});

describe("consolidation", () => {
  const answer = (passageId: string, text: string, source = "llm:m") => ({ passageId, source, parsed: parseAnswer(text) });

  it("merges candidates with counts, drops splittable and possessive terms, and reports them", () => {
    const { terms, report } = consolidate(
      [
        answer("b@0", '{"Tamsin": "Emma", "Quillfeather": "Carter", "Tamsin Quillfeather": "Emma Carter", "Tamsin\'s": "Emma\'s", "Vellmarrow": "Riverton"}'),
        answer("a@0", '{"anchors":[{"term":"Tamsin","translations":["Lucy","Emma"],"category":"person"},{"term":"Vellmarrow","translations":["the city"],"category":"place"}]}'),
        answer("c@0", '{"Orrin": "Tom", "Orrin Blackwater": "Tom Harris", "Sel": "Ann'),
      ],
      { dropSplittable: true, dropPossessive: true },
    );
    expect(terms.map((t) => t.term)).toEqual(["Orrin", "Orrin Blackwater", "Quillfeather", "Tamsin", "Vellmarrow"]);
    const tamsin = terms.find((t) => t.term === "Tamsin")!;
    // Reading order is by passage id, so "a@0" comes first whatever the order of the answers.
    expect(tamsin.candidates).toEqual([{ text: "Emma", count: 2 }, { text: "Lucy", count: 1 }]);
    expect(tamsin.answers).toBe(2);
    expect(terms.find((t) => t.term === "Vellmarrow")!.category).toBe("place");
    expect(report.splittable).toEqual([{ term: "Tamsin Quillfeather", parts: ["Tamsin", "Quillfeather"] }]);
    expect(report.possessive).toEqual([{ term: "Tamsin's", base: "Tamsin" }]);
    expect(report).toMatchObject({ answers: 3, truncatedAnswers: 1, pairsKept: 9 });
    expect(report.droppedPairs["cut off"]).toBe(1);

    const kept = consolidate([answer("x", '{"A": "x", "B": "y", "A B": "z", "A\'s": "w"}')], { dropSplittable: false, dropPossessive: false });
    expect(kept.terms.map((t) => t.term)).toEqual(["A", "A B", "A's", "B"]);
  });

  it("does not depend on the order the answers arrive in", () => {
    const a = [answer("p1", '{"X": ["a", "b"]}'), answer("p2", '{"X": ["b", "c"]}'), answer("p3", '{"X": "c"}')];
    const one = consolidate(a, { dropSplittable: true, dropPossessive: true });
    const two = consolidate([...a].reverse(), { dropSplittable: true, dropPossessive: true });
    expect(two).toEqual(one);
    expect(one.terms[0].candidates.map((c) => c.text)).toEqual(["b", "c", "a"]);
  });
});
