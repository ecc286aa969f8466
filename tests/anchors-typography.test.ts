/** Consolidation and corpus facts treat "Harry's" and "Harry’s" as one spelling. */
import { describe, expect, it } from "vitest";
import { consolidate } from "../pipeline/anchors/consolidate.js";
import { CorpusIndex } from "../pipeline/anchors/corpus-stats.js";
import { parseAnswer } from "../pipeline/anchors/parse.js";

const answer = (passageId: string, text: string, source = "llm:m") => ({ passageId, source, parsed: parseAnswer(text) });
const opts = { dropSplittable: true, dropPossessive: true };

describe("consolidation across apostrophe styles", () => {
  it("merges Harry's and Harry’s into one term, written as most answers wrote it, and reports the merge", () => {
    const { terms, report } = consolidate(
      [answer("a", '{"Harry’s Wand": "Jon’s stick"}'), answer("b", `{"Harry's Wand": "Jon's stick"}`), answer("c", '{"Harry’s Wand": "Ned’s stick"}')],
      { dropSplittable: false, dropPossessive: false },
    );
    expect(terms.map((t) => t.term)).toEqual(["Harry’s Wand"]);
    expect(terms[0].answers).toBe(3);
    expect(terms[0].candidates.map((c) => c.text)).toEqual(["Jon’s stick", "Jon's stick", "Ned’s stick"]);
    expect(report.spellings).toEqual([{ term: "Harry’s Wand", merged: ["Harry's Wand"] }]);
  });

  it("drops both spellings of a possessive when the base is a term (one possessive, not two terms)", () => {
    const { terms, report } = consolidate([answer("a", `{"Harry": "Jon", "Harry's": "Jon's"}`), answer("b", '{"Harry’s": "Jon’s", "Weasleys’": "Smiths’", "Weasleys": "Smiths"}')], opts);
    expect(terms.map((t) => t.term)).toEqual(["Harry", "Weasleys"]);
    expect(report.possessive).toEqual([
      { term: "Harry's", base: "Harry" },
      { term: "Weasleys’", base: "Weasleys" },
    ]);
  });

  it("a multi-word term whose words are terms in another apostrophe style is splittable", () => {
    const { terms, report } = consolidate([answer("a", '{"King’s": "Duke’s", "Cross": "Gate", "King\'s Cross": "Central"}')], { dropSplittable: true, dropPossessive: false });
    expect(terms.map((t) => t.term)).toEqual(["Cross", "King’s"]);
    expect(report.splittable).toEqual([{ term: "King's Cross", parts: ["King’s", "Cross"] }]);
  });
});

describe("corpus facts across apostrophe styles", () => {
  const corpus = new CorpusIndex([
    { id: "d1", text: "They met at King’s Cross. Later, King’s Cross again." },
    { id: "d2", text: "Back at King's Cross, the Marauder’s Map." },
  ]);

  it("counts a term typed with ' where the book writes ’", () => {
    expect(corpus.count("King's Cross")).toBe(3);
    expect(corpus.count("Marauder's Map")).toBe(1);
    expect(corpus.stats("King's Cross").examples[0]).toContain("King’s Cross");
  });

  it("lists each written form with its count", () => {
    expect(corpus.writtenForms("King's Cross")).toEqual({ "King’s Cross": 2, "King's Cross": 1 });
  });
});
