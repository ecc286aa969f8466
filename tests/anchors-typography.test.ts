/** Consolidation and corpus facts treat "Harry's" and "Harry’s" as one spelling. */
import { appendFile, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { whpCli } from "./helpers/capture.js";
import { makeFixture } from "./helpers/fixture.js";
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
    // Candidates that differ only in apostrophes are one candidate too (counts added).
    expect(terms[0].candidates).toEqual([
      { text: "Jon's stick", count: 2 },
      { text: "Ned’s stick", count: 1 },
    ]);
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

describe("whp anchors check", () => {
  it("says which written forms of a term the corpus has, and does not call it absent", async () => {
    const fx = await makeFixture();
    try {
      const [chapter] = (await readdir(join(fx.dir, "forget"))).sort();
      await appendFile(join(fx.dir, "forget", chapter), "\n\nThey met at Kestrel’s Gate. Kestrel’s Gate, then Kestrel's Gate.\n");
      await appendFile(join(fx.dir, "anchors.csv"), "Kestrel's Gate,Harbour's End,place,,approved\n");
      const r = await whpCli(fx.configPath, "anchors", "check");
      expect(r.out).toMatch(/anchors\.csv:\d+: found as: "Kestrel's Gate" "Kestrel’s Gate" 2x, "Kestrel's Gate" 1x/);
      expect(r.out).not.toMatch(/absent: "Kestrel's Gate"/);
    } finally {
      await rm(fx.dir, { recursive: true, force: true });
    }
  }, 60_000);
});
