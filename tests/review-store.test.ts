/** The review page's pure parts: row views and versions, edits to the CSV text, the concordance. */
import { describe, expect, it } from "vitest";
import { Annotator } from "../pipeline/review/annotate.js";
import { concordance } from "../pipeline/review/concordance.js";
import { confidenceOf, readRows } from "../pipeline/review/rows.js";
import { addTerm, applyEdits, ReviewRequestError } from "../pipeline/review/store.js";

const CSV = [
  "term,translations,category,notes,status,reviewer",
  'Tamsin,Emma|Lucy,person,"heroine, age 12",pending,ann',
  "Cinderholt,the village,place,,approved,bob",
  '"Vane","Morgan",person,,pending,',
  "",
].join("\n");

const rowsOf = (text: string) => readRows(text, "t.csv").rows;
const version = (text: string, term: string) => rowsOf(text).find((r) => r.term === term)!.version;
const lines = (text: string) => text.split("\n");

describe("editing the review CSV", () => {
  it("changes only the edited row; other rows keep their bytes, order and unknown columns", () => {
    const out = applyEdits(CSV, "t.csv", [{ term: "Tamsin", base: version(CSV, "Tamsin"), changes: { status: "approved", translations: ["Emma", "Anna"] } }]);
    expect(out.conflicts).toEqual([]);
    expect(out.applied).toEqual(["Tamsin"]);
    const l = lines(out.text!);
    expect(l[0]).toBe(lines(CSV)[0]);
    expect(l[1]).toBe('Tamsin,Emma|Anna,person,"heroine, age 12",approved,ann');
    expect(l[2]).toBe(lines(CSV)[2]);
    expect(l[3]).toBe('"Vane","Morgan",person,,pending,'); // odd quoting kept byte for byte
    expect(out.text!.endsWith("\n")).toBe(true);
  });

  it("refuses a stale edit with the current row, and applies the others of the batch", () => {
    const old = version(CSV, "Tamsin");
    const first = applyEdits(CSV, "t.csv", [{ term: "Tamsin", base: old, changes: { notes: "from tab 1" } }]).text!;
    const second = applyEdits(first, "t.csv", [
      { term: "Tamsin", base: old, changes: { notes: "from tab 2" } },
      { term: "Cinderholt", base: version(first, "Cinderholt"), changes: { notes: "ok" } },
    ]);
    expect(second.applied).toEqual(["Cinderholt"]);
    expect(second.conflicts).toHaveLength(1);
    expect(second.conflicts[0].message).toMatch(/changed on disk/);
    expect(second.conflicts[0].current?.notes).toBe("from tab 1");
    expect(rowsOf(second.text!).find((r) => r.term === "Tamsin")!.notes).toBe("from tab 1");
  });

  it("keeps a byte order mark and CRLF line ends, and adds a status column only when needed", () => {
    const text = "\uFEFFterm,translations,category,notes\r\nA,B,x,\r\nC,D,x,\r\n";
    const out = applyEdits(text, "t.csv", [{ term: "C", base: version(text, "C"), changes: { status: "rejected" } }]).text!;
    // The rows that were approved by having no status column say so once there is one (a blank
    // status cell is pending to the dictionary stage).
    expect(out).toBe("\uFEFFterm,translations,category,notes,status\r\nA,B,x,,approved\r\nC,D,x,,rejected\r\n");
    expect(rowsOf(out).map((r) => r.status)).toEqual(["approved", "rejected"]);
    expect(rowsOf("term,translations,category,notes,status\nA,B,x,,\n").map((r) => r.status)).toEqual(["pending"]);
  });

  it("refuses bad values before writing anything", () => {
    const base = version(CSV, "Tamsin");
    const bad = (changes: object) => () => applyEdits(CSV, "t.csv", [{ term: "Tamsin", base, changes }]);
    expect(bad({ translations: [] })).toThrow(/at least one candidate/);
    expect(bad({ translations: ["=cmd()"] })).toThrow(/formula/);
    expect(bad({ translations: ["a|b"] })).toThrow(/separates candidates/);
    expect(bad({ status: "maybe" })).toThrow(/one of approved, pending, rejected/);
    try {
      bad({ status: "maybe" })();
    } catch (e) {
      expect((e as ReviewRequestError).status).toBe(400);
    }
  });

  it("writes nothing for an edit that changes nothing", () => {
    const out = applyEdits(CSV, "t.csv", [{ term: "Cinderholt", base: version(CSV, "Cinderholt"), changes: { status: "approved" } }]);
    expect(out.text).toBeUndefined();
    expect(out.applied).toEqual(["Cinderholt"]);
  });

  it("adds a missed term at the end as pending, and refuses one that exists", () => {
    const out = addTerm(CSV, "t.csv", { term: " Mr. Pike ", translations: ["Mr. Hill"], category: "person" });
    expect(lines(out).slice(0, 4)).toEqual(lines(CSV).slice(0, 4));
    expect(lines(out)[4]).toBe("Mr. Pike,Mr. Hill,person,,pending,");
    expect(() => addTerm(out, "t.csv", { term: "Mr. Pike", translations: ["x"], category: "" })).toThrow(/already in the dictionary \(line 5\)/);
  });
});

describe("row views", () => {
  it("reads candidates, status and unknown columns; the version follows every cell", () => {
    const [t] = rowsOf(CSV);
    expect(t).toMatchObject({ term: "Tamsin", translations: ["Emma", "Lucy"], status: "pending", other: { reviewer: "ann" }, line: 2 });
    const handEdited = CSV.replace("pending,ann", "pending,carol");
    expect(version(handEdited, "Tamsin")).not.toBe(t.version);
    expect(version(handEdited, "Cinderholt")).toBe(version(CSV, "Cinderholt"));
  });

  it("takes confidence from a confidence column, else the proposal counts", () => {
    expect(confidenceOf({ confidence: "0.8" })).toBe(0.8);
    expect(confidenceOf({ proposed: "Emma (3)|Lucy (1)" })).toBe(4);
    expect(confidenceOf({ proposed: "" })).toBeNull();
  });
});

describe("concordance", () => {
  const docs = [{ id: "a.txt", text: "Tamsin Quillfeather met Tamsin's aunt.\nLater   Tamsin ran to Cinderholt." }];
  const dict = new Map([["Tamsin Quillfeather", "Emma Carter"], ["Cinderholt", "the village"]]);

  it("marks the term and rewrites every dictionary term, longest first, as the pipeline would", () => {
    const c = concordance(docs, "Tamsin", "Emma", dict, { around: 200, limit: 10 });
    expect(c.total).toBe(3);
    const first = c.contexts[0];
    expect(first.original.filter((s) => s.mark === "term")).toHaveLength(3);
    expect(first.substituted.map((s) => s.text).join("")).toBe("Emma Carter met Emma's aunt. Later Emma ran to the village.");
    expect(first.substituted.filter((s) => s.mark).map((s) => `${s.mark}:${s.text}`)).toEqual(["other:Emma Carter", "term:Emma", "term:Emma", "other:the village"]);
    expect(first.clippedStart).toBe(false);
  });

  it("cuts windows at word boundaries and stops at the limit while counting all", () => {
    const c = concordance(docs, "Tamsin", "Emma", dict, { around: 5, limit: 1 });
    expect(c.total).toBe(3);
    expect(c.contexts).toHaveLength(1);
    expect(c.contexts[0].original.map((s) => s.text).join("")).toBe("Tamsin Quillfeather");
    expect(c.contexts[0].clippedEnd).toBe(true);
  });
});

describe("flags on the page", () => {
  it("include the translation plausibility flags, with the better candidates, when first names are given", () => {
    const docs = [{ id: "d1", text: "Harry waved. Harry said his name was Harry, and the owl flew off." }];
    const text = "term,translations,category,notes,status\nHarry,Mary|Harold,person,,pending\n";
    const rows = readRows(text, "t.csv").rows;
    const names = { female: new Set(["Mary"]), male: new Set(["Harry", "Harold"]) };
    const withNames = new Annotator(docs, undefined, new Map(), names).annotate(rows)[0];
    const gender = withNames.flags.find((f) => f.kind === "gender-mismatch");
    expect(gender?.message).toMatch(/Mary/);
    expect(gender?.message).toMatch(/better: Harold/);
    // without the lexicon the page shows the corpus checks only
    expect(new Annotator(docs, undefined, new Map()).annotate(rows)[0].flags.some((f) => f.kind === "gender-mismatch")).toBe(false);
  });
});
