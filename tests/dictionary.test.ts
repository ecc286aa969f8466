import { describe, expect, it } from "vitest";
import { UserError } from "../pipeline/core/errors.js";
import { mergeReview, readReviewFile } from "../pipeline/anchors/review-csv.js";
import { parseDictionaryCsv } from "../pipeline/stages/dictionary.js";

function problem(text: string): UserError {
  try {
    parseDictionaryCsv(text, "anchors/x.csv");
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}

describe("dictionary CSV", () => {
  it("splits candidates, drops duplicates among them, keeps only approved rows, sorts terms", () => {
    const parsed = parseDictionaryCsv(
      'term,translations,category,notes,status\nVellmarrow,"the city | Riverton|Riverton",place,,approved\nTamsin,Emma,person,"heroine, 12",approved\nFitch,bird,creature,,pending\n',
      "x.csv",
    );
    expect(parsed.entries).toEqual([
      { term: "Tamsin", translations: ["Emma"], category: "person" },
      { term: "Vellmarrow", translations: ["the city", "Riverton"], category: "place" },
    ]);
    expect(parsed.notApproved).toEqual([{ term: "Fitch", status: "pending", line: 4 }]);
  });

  it("a blank status cell is pending, and counted; a file without a status column is all approved", () => {
    const parsed = parseDictionaryCsv("term,translations,category,notes,status\nTamsin,Emma,person,,\nOrrin,Tom,person,,approved\n", "x.csv");
    expect(parsed.entries.map((e) => e.term)).toEqual(["Orrin"]);
    expect(parsed.blankStatus).toEqual([{ term: "Tamsin", line: 2 }]);
    expect(parsed.hasStatusColumn).toBe(true);
    const noColumn = parseDictionaryCsv("term,translations,category,notes\nTamsin,Emma,person,\n", "x.csv");
    expect(noColumn.entries.map((e) => e.term)).toEqual(["Tamsin"]);
    expect(noColumn.hasStatusColumn).toBe(false);
    expect(noColumn.blankStatus).toEqual([]);
  });

  it("consolidating into a file without a status column keeps its rows approved", () => {
    const text = "term,translations,category,notes\nTamsin,Emma,person,\n";
    const merged = mergeReview(readReviewFile(text, "x.csv"), [{ term: "Orrin", category: "person", candidates: [{ text: "Tom", count: 1 }], source: "llm:m", examples: [], flags: [] }]);
    const parsed = parseDictionaryCsv(merged.text, "x.csv");
    expect(parsed.entries.map((e) => e.term)).toEqual(["Tamsin"]);
    expect(parsed.notApproved.map((n) => [n.term, n.status])).toEqual([["Orrin", "pending"]]);
  });

  it("counts empty candidates and terms that differ only in letter case", () => {
    const parsed = parseDictionaryCsv("term,translations,category,notes,status\nHolland,Bob||,person,,approved\nholland,Ann,person,,approved\n", "x.csv");
    expect(parsed.entries.find((e) => e.term === "Holland")?.translations).toEqual(["Bob"]);
    expect(parsed.emptyCandidates).toEqual([{ term: "Holland", line: 2 }]);
    expect(parsed.caseDuplicates).toEqual([{ term: "holland", other: "Holland", line: 3 }]);
  });

  it("names a missing column and the header it found", () => {
    const e = problem("term,translation,category\nTamsin,Emma,person\n");
    expect(e.message).toBe('anchors/x.csv is missing column(s) "translations", "notes" (found: "term", "translation", "category")');
    expect(e.fix).toContain("term, translations, category, notes");
  });

  it("reports every bad row at once with its line: duplicates, empty translations, bad status", () => {
    const e = problem("term,translations,category,notes,status\nTamsin,Emma,person,,\nOrrin,,person,,\nTamsin,Lucy,person,,\nFitch,bird,creature,,maybe\n");
    expect(e.message).toContain("line 3: \"Orrin\" has no translation");
    expect(e.message).toContain('line 4: duplicate term "Tamsin" (first on line 2)');
    expect(e.message).toContain('line 5: status "maybe"');
    expect(e.message).toContain("3 problem(s)");
  });

  it("rejects malformed CSV with the parser's position", () => {
    const e = problem('term,translations,category,notes\n"Tamsin,Emma,person,\n');
    expect(e.message).toMatch(/^anchors\/x.csv is not valid CSV/);
  });
});
