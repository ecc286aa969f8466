/** Reviewer flags a reader of the books would trust (issue #16, part 4): names are not common words,
 * uncategorised terms have no kind to mismatch, titles do not collide on their own. */
import { describe, expect, it } from "vitest";
import { checkEntries } from "../pipeline/anchors/checks.js";
import { CorpusIndex, isMidSentence, loadWordFrequencies } from "../pipeline/anchors/corpus-stats.js";
import { buildPassages, checkPlausibility } from "../pipeline/anchors/plausibility.js";
import { seededRandom } from "../pipeline/core/hash.js";

const STORY =
  "Harry looked at George. Then Tom said Harry should go to Kentucky with Will. " +
  "Will you come? The dark sky was dark. A nurse came. My lord, the professor said, is a madam of the lady's house, sir. " +
  "Her uncle and aunt met the master. Hope is a good thing.\n";

describe("common-word is case-aware", () => {
  it("a capitalised word mid-sentence is a name; at a sentence start it is not evidence", () => {
    expect(isMidSentence("Then Tom said", 5)).toBe(true);
    expect(isMidSentence("go. Will you", 4)).toBe(false);
    expect(isMidSentence("“Will,” she said", 1)).toBe(false);
    expect(isMidSentence('said, "Will', 7)).toBe(true);
    expect(isMidSentence("across Kestrel Bridge", 15)).toBe(false);
    expect(isMidSentence("Kestrel", 0)).toBe(false);
    // After a sentence's first word ("Then"), a capitalised word is mid-sentence.
    expect(isMidSentence("Ron left. Then Tom said", 15)).toBe(true);
  });

  it("does not flag Harry, George, Tom, Kentucky or a name that is also a word but used as a name; flags ordinary words", async () => {
    const freq = await loadWordFrequencies();
    const corpus = new CorpusIndex([{ id: "a", text: STORY }]);
    const terms = ["Harry", "George", "Tom", "Kentucky", "Will", "Hope", "dark", "Dark"];
    const flags = checkEntries(terms.map((term, i) => ({ term, translations: ["Zed"], category: "person", line: i + 2 })), corpus, freq);
    const common = flags.filter((f) => f.kind === "common-word").map((f) => f.term);
    // "Hope" starts a sentence only; "Dark" never occurs capitalised mid-sentence; "dark" is a word.
    expect(common).toEqual(["Hope", "dark", "Dark"]);
    expect(flags.find((f) => f.term === "Hope")?.message).toMatch(/as "hope", and the corpus never has "Hope" mid-sentence/);
  });
});

describe("kind-mismatch with a partly categorised dictionary", () => {
  it("a candidate shared with an uncategorised term ('' or 'other') is no mismatch; two real categories still are", async () => {
    const freq = await loadWordFrequencies();
    const corpus = new CorpusIndex([{ id: "a", text: "Orrin went to Cinderholt with Tamsin and Vane." }]);
    const flags = checkEntries(
      [
        { term: "Orrin", translations: ["Ralph"], category: "person", line: 2 },
        { term: "Tamsin", translations: ["Ralph"], category: "other", line: 3 },
        { term: "Vane", translations: ["Ralph"], category: "", line: 4 },
        { term: "Cinderholt", translations: ["Ralph"], category: "place", line: 5 },
      ],
      corpus,
      freq,
    );
    const kinds = flags.filter((f) => f.kind === "kind-mismatch").map((f) => f.line);
    expect(kinds).toEqual([2, 5]);
  });

  it("generated: 2,000 terms, 10% categorised, candidates shared freely: only the categorised pairs are flagged", async () => {
    const freq = await loadWordFrequencies();
    const corpus = new CorpusIndex([{ id: "a", text: "A short text." }]);
    const pool = Array.from({ length: 50 }, (_, i) => `Cand${i}`);
    const rand = seededRandom(4);
    const entries = Array.from({ length: 2000 }, (_, i) => ({
      term: `Term${i}`,
      translations: [pool[Math.floor(rand() * 50)], pool[Math.floor(rand() * 50)]],
      category: i % 10 === 0 ? (i % 20 === 0 ? "person" : "place") : i % 3 === 0 ? "" : "other",
      line: i + 2,
    }));
    const flagged = new Set(checkEntries(entries, corpus, freq).filter((f) => f.kind === "kind-mismatch").map((f) => f.term));
    // Expected: a categorised term sharing a candidate with a term of the other real category.
    const expected = new Set<string>();
    for (const e of entries) {
      if (e.category !== "person" && e.category !== "place") continue;
      if (entries.some((o) => o.category !== e.category && (o.category === "person" || o.category === "place") && o.translations.some((c) => e.translations.includes(c)))) expected.add(e.term);
    }
    expect(expected.size).toBeGreaterThan(0);
    // Uncategorised terms share candidates with categorised ones too, and are never flagged.
    expect(entries.some((e) => e.category === "other" && entries.some((o) => o.category === "person" && o.translations.some((c) => e.translations.includes(c))))).toBe(true);
    expect(flagged).toEqual(expected);
  });
});

describe("word-collision and titles", () => {
  it("titles and honorifics in a multi-word candidate do not collide on their own; the name part still can", async () => {
    const freq = await loadWordFrequencies();
    const lex = { female: new Set(["Ellen", "Rose"]), male: new Set(["Ralph"]) };
    const titles = ["Madam", "Professor", "Nurse", "Dark", "Mr", "Mrs", "Sir", "Lord", "Lady", "Uncle", "Aunt", "Master"];
    const entries = [
      ...titles.map((t, i) => ({ term: "Orrin", translations: [`${t} Ralph`], category: "person", line: 10 + i })),
      { term: "Orrin", translations: ["Dark Master"], category: "person", line: 30 },
      { term: "Orrin", translations: ["Nurse Rose"], category: "person", line: 31 },
      { term: "Orrin", translations: ["Nurse"], category: "person", line: 32 },
    ];
    const text = `Orrin ${STORY} Orrin rose early; the nurse rose too.`;
    const passages = buildPassages([{ id: "a", text }], ["Orrin"]);
    const collisions = checkPlausibility(entries, passages, lex, freq).filter((f) => f.kind === "word-collision");
    expect(collisions.map((f) => `${f.line}:${f.translation}:${f.message.match(/the word "(\w+)"/)?.[1]}`)).toEqual(["31:Nurse Rose:rose", "32:Nurse:nurse"]);
  });
});
