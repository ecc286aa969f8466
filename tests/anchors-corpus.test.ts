import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkEntries } from "../pipeline/anchors/checks.js";
import { CorpusIndex, englishCount, loadWordFrequencies, occurrenceStarts } from "../pipeline/anchors/corpus-stats.js";
import { capitalisedTerms, genericTranslations, proposeOffline } from "../pipeline/anchors/heuristic.js";
import { describeCoverage, samplePassages, tileDocument, windowEnd } from "../pipeline/anchors/sample.js";

const STORY =
  "Tamsin Quillfeather lived in Cinderholt. Tamsin said hello to Orrin Blackwater. Orrin laughed.\n\n" +
  "They walked to Cinderholt and across Kestrel Bridge. \"Vane,\" said Tamsin. The vane on the roof turned. Tamsin's cat slept.\n";

describe("passage sampling", () => {
  const docs = [
    { id: "a.txt", text: "One sentence here. ".repeat(200) },
    { id: "b.txt", text: "Short doc." },
    { id: "c.txt", text: "Para one.\n\nPara two is here. ".repeat(120) },
  ];

  it("tiles every document completely with 'all', within the budget, never mid-word", () => {
    const { passages, coverage } = samplePassages(docs, { budget: 500, perDocument: "all", seed: 7 });
    expect(coverage).toMatchObject({ documents: 3, documentsCovered: 3, chars: coverage.charsCovered });
    for (const d of docs) {
      const mine = passages.filter((p) => p.docId === d.id);
      expect(mine.map((p) => p.text).join("")).toBe(d.text);
      for (const p of mine) {
        expect(p.text.length).toBeLessThanOrEqual(500);
        if (p.end < d.text.length) expect(d.text[p.end - 1]).toMatch(/\s/);
      }
    }
    expect(describeCoverage(coverage)).toContain("3/3 documents");
  });

  it("with a count per document covers every document, is seeded, and reports partial coverage", () => {
    const one = samplePassages(docs, { budget: 300, perDocument: 2, seed: 1 });
    expect(one.coverage.documentsCovered).toBe(3);
    expect(one.passages.filter((p) => p.docId === "a.txt")).toHaveLength(2);
    expect(one.coverage.charsCovered).toBeLessThan(one.coverage.chars);
    expect(samplePassages(docs, { budget: 300, perDocument: 2, seed: 1 })).toEqual(one);
    expect(samplePassages(docs, { budget: 300, perDocument: 2, seed: 2 }).passages.map((p) => p.id)).not.toEqual(one.passages.map((p) => p.id));
  });

  it("property: tiles are contiguous and cover the text for any text and budget", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.integer({ min: 200, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (text, budget, seed) => {
        const tiles = tileDocument({ id: "d", text }, budget, seed);
        let at = 0;
        for (const t of tiles) {
          expect(t.start).toBeGreaterThanOrEqual(at);
          expect(text.slice(at, t.start).trim()).toBe("");
          expect(t.end - t.start).toBeLessThanOrEqual(budget);
          at = t.end;
        }
        expect(text.slice(at).trim()).toBe("");
      }),
    );
    expect(windowEnd("abc def ghi", 0, 100)).toBe(11);
  });
});

describe("corpus statistics and checks", () => {
  const corpus = new CorpusIndex([{ id: "s", text: STORY }], [{ doc: "s", span: [0, 60] }, { doc: "s", span: [60, 150] }, { doc: "s", span: [150, 190] }, { doc: "s", span: [190, 219] }]);

  it("counts whole-word, case-sensitive occurrences, blocks and two contexts", () => {
    expect(occurrenceStarts(STORY, "Vane")).toHaveLength(1);
    expect(occurrenceStarts("Tamsins Tamsin_x Tamsin.", "Tamsin")).toEqual([17]);
    const s = corpus.stats("Tamsin");
    expect(s.occurrences).toBe(4);
    expect(s.blocks).toBe(3);
    expect(s.examples).toHaveLength(2);
    expect(s.examples[0]).toContain("Tamsin Quillfeather lived");
    expect(new CorpusIndex([{ id: "s", text: STORY }]).stats("Orrin").blocks).toBeUndefined();
  });

  it("flags absent terms, common words, translations in the corpus or colliding with terms, and kind mismatches", async () => {
    const freq = await loadWordFrequencies();
    expect(englishCount(freq, "Vane")).toBeGreaterThan(0);
    const flags = checkEntries(
      [
        { term: "Tamsin", translations: ["Emma", "Orrin"], category: "person", line: 2 },
        { term: "Orrin", translations: ["Tom", "the harbour"], category: "person", line: 3 },
        { term: "Cinderholt", translations: ["Emma Carter", "Riverton"], category: "place", line: 4 },
        { term: "Zorblax", translations: ["Ben"], category: "person", line: 5 },
        { term: "Kestrel", translations: ["Tom"], category: "place", line: 6 },
        { term: "House", translations: ["Home"], category: "place", line: 7 },
        { term: "Bridge", translations: ["Arch"], category: "place", line: 8 },
      ],
      corpus,
      freq,
    );
    const by = (kind: string) => flags.filter((f) => f.kind === kind).map((f) => `${f.line}:${f.message}`);
    expect(by("absent")).toEqual(['5:"Zorblax" never occurs in the forget corpus', '7:"House" never occurs in the forget corpus']);
    expect(by("common-word").map((m) => m.split(":")[0])).toEqual(["7", "8"]);
    expect(by("translation-is-term")).toEqual(['2:candidate "Orrin" is also a term of the dictionary']);
    expect(by("translation-in-corpus")).toEqual(['2:candidate "Orrin" occurs 2 time(s) in the forget corpus']);
    const kind = by("kind-mismatch");
    expect(kind).toContain('3:person "Orrin" has candidate "the harbour", which describes a place ("harbour")');
    expect(kind).toContain('4:place "Cinderholt" has candidate "Emma Carter", which starts with the first name "Emma"');
    expect(kind).toContain('3:candidate "Tom" is also used for place "Kestrel", but "Orrin" is person');
    expect(kind).toContain('6:candidate "Tom" is also used for person "Orrin", but "Kestrel" is place');
    // Tamsin is a rare word; Emma is a plain name that never occurs in the story.
    expect(flags.filter((f) => f.term === "Tamsin").map((f) => f.kind)).toEqual(["translation-is-term", "translation-in-corpus"]);
  });
});

describe("offline extractor", () => {
  it("finds capitalised names and runs of them, with context counts", () => {
    const t = capitalisedTerms(STORY);
    expect(t.get("Tamsin Quillfeather")?.count).toBe(1);
    expect(t.get("Tamsin")?.count).toBe(4);
    expect(t.get("Kestrel Bridge")?.inPlaceName).toBe(1);
    expect(t.has("Tamsin's")).toBe(false);
  });

  it("proposes forget-corpus names, not everyday words or sentence starts, marked with generic translations", async () => {
    const freq = await loadWordFrequencies();
    const docs = [{ id: "s", text: STORY.repeat(3) }];
    const general = ["They walked to the market. The vane turned. Tamsin was not here. They said hello."];
    const p = proposeOffline(docs, general, freq, { maxTerms: 20, minCount: 3, seed: 1 });
    const terms = p.map((x) => x.term);
    expect(terms).toContain("Tamsin");
    expect(terms).toContain("Cinderholt");
    expect(terms).toContain("Orrin Blackwater");
    expect(terms).not.toContain("They");
    expect(terms).not.toContain("The");
    expect(terms).not.toContain("Vane");
    expect(p.find((x) => x.term === "Cinderholt")?.category).toBe("place");
    expect(p.find((x) => x.term === "Orrin")?.category).toBe("person");
    expect(p.find((x) => x.term === "Blackwater")?.translations.every((t) => !t.includes(" "))).toBe(true);
    expect(proposeOffline(docs, general, freq, { maxTerms: 20, minCount: 3, seed: 1 })).toEqual(p);
    expect(genericTranslations("Tamsin Quillfeather", "person", 1)).toHaveLength(2);
    expect(genericTranslations("Tamsin Quillfeather", "person", 1).every((t) => t.split(" ").length === 2)).toBe(true);
  });
});
