/** Translation plausibility flags (issue #8, part 2) on hand-built dictionaries, lexicons and passages. */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildPassages, checkPlausibility, genderOf, rankCandidates, surfaceMatch, termGender, type NameLexicon, type Passage, type PlausibilityEntry } from "../pipeline/anchors/plausibility.js";
import { loadNameLexicon } from "../pipeline/anchors/name-lexicon.js";
import { makeFixture } from "./helpers/fixture.js";
import { whpCli } from "./helpers/capture.js";

const LEX: NameLexicon = {
  female: new Set(["Mary", "Rose", "Jane", "Emma", "Lucy", "Claire", "Sam", "Hannah"]),
  male: new Set(["Harry", "Harold", "Hal", "John", "Henry", "Tom", "Ben", "Sam", "Victor", "Frank"]),
};
// SUBTLEX keeps one spelling per word: "Rose" capitalised, "price" lower-case.
const FREQ = new Map([["Rose", 2704], ["price", 2722], ["Bay", 1236], ["hope", 16352], ["Jane", 3000], ["Lucy", 2000], ["Mark", 4183], ["Zyzzle", 3]]);
const entry = (term: string, translations: string[], category = "person"): PlausibilityEntry => ({ term, translations, category });
const passage = (terms: string[], words: string[] = []): Passage => ({ terms: new Set(terms), words: new Set(words) });
const check = (entries: PlausibilityEntry[], passages: Passage[] = []) => checkPlausibility(entries, passages, LEX, FREQ);
const kinds = (flags: ReturnType<typeof check>) => flags.map((f) => `${f.kind}:${f.term}->${f.translation}`);

describe("gender-mismatch", () => {
  it("flags a candidate of the other gender than the term's own name, and suggests the same gender", () => {
    const flags = check([entry("Harry", ["Harold", "Mary", "John"])]);
    expect(kinds(flags)).toEqual(["gender-mismatch:Harry->Mary"]);
    expect(flags[0].message).toContain("male (its own name)");
    expect(flags[0].suggestions).toEqual(["Harold", "John"]);
  });

  it("reads an unknown term's gender from a clear majority of its candidates, and titles", () => {
    expect(termGender(entry("Xandor", ["Tom", "Ben", "Mary"]), LEX)).toEqual({ gender: "male", from: "2 of its candidates" });
    expect(kinds(check([entry("Xandor", ["Tom", "Ben", "Mary"])]))).toEqual(["gender-mismatch:Xandor->Mary"]);
    expect(genderOf("old Mrs Parker", LEX)).toBe("female");
    expect(kinds(check([entry("Old Mother Hobnail", ["old Mrs Parker", "Mr Green"])]))).toContain("gender-mismatch:Old Mother Hobnail->Mr Green");
  });

  it("does not flag an ambiguous name, a split vote, or a non-person", () => {
    expect(genderOf("Sam", LEX)).toBe("ambiguous");
    expect(check([entry("Harry", ["Harold", "Sam"])])).toEqual([]);
    expect(check([entry("Zorb", ["Tom", "Mary"])])).toEqual([]);
    expect(check([entry("Fitch", ["Tom", "Ben", "Mary"], "creature")])).toEqual([]);
  });
});

describe("category-mismatch", () => {
  it("flags a person translated to a place and a place translated to a first name or a titled person", () => {
    const flags = check([entry("Harry", ["Harold", "Oak Hall", "Frank Hill"]), entry("Vellmarrow", ["Riverton", "Victor", "Bay", "Mr Grant"], "place")]);
    expect(kinds(flags)).toEqual(["category-mismatch:Harry->Oak Hall", "category-mismatch:Vellmarrow->Victor", "category-mismatch:Vellmarrow->Mr Grant"]);
    expect(flags[1].message).toContain("first name");
    // Town-shaped and place-noun candidates are fine, and are what is suggested instead.
    expect(flags[1].suggestions).toEqual(["Riverton", "Bay"]);
  });

  it("does not flag an ordinary word or a town-shaped name for a place", () => {
    expect(check([entry("Cinderholt", ["Ashby", "Hope", "the village"], "place")])).toEqual([]);
  });
});

describe("word-collision", () => {
  it("flags a name that is an ordinary word in the passages where the term occurs", () => {
    const flags = check([entry("Hermione", ["Rose", "Jane"])], [passage(["Hermione"], ["the", "sun", "rose"]), passage(["Hermione"])]);
    expect(kinds(flags)).toEqual(["word-collision:Hermione->Rose"]);
    expect(flags[0].message).toContain('"rose", which occurs in 1 of the 2 passage(s) with "Hermione"');
    expect(flags[0].suggestions).toEqual(["Jane"]);
  });

  it("does not flag when the word occurs only away from the term, or is rare English", () => {
    expect(check([entry("Hermione", ["Rose"])], [passage(["Hermione"]), passage([], ["rose"])])).toEqual([]);
    expect(check([entry("Hermione", ["Zyzzle"])], [passage(["Hermione"], ["zyzzle"])])).toEqual([]);
    // Lower-case descriptions are meant to be ordinary words.
    expect(check([entry("Saltmere", ["the harbour"], "place")], [passage(["Saltmere"], ["harbour"])])).toEqual([]);
  });
});

describe("shared-translation", () => {
  it("flags one candidate used for two terms that occur in one passage, both ways", () => {
    const flags = check([entry("Tamsin", ["Emma", "Lucy"]), entry("Perpetua", ["Claire", "Emma"])], [passage(["Tamsin", "Perpetua"]), passage(["Tamsin"])]);
    expect(kinds(flags)).toEqual(["shared-translation:Tamsin->Emma", "shared-translation:Perpetua->Emma"]);
    expect(flags[0].message).toContain('also a candidate of "Perpetua"; the two terms occur together in 1 passage(s)');
    expect(flags[0].suggestions).toEqual(["Lucy"]);
    expect(flags[1].suggestions).toEqual(["Claire"]);
  });

  it("does not flag terms that never meet, or two names of one thing", () => {
    expect(check([entry("Tamsin", ["Emma"]), entry("Perpetua", ["Emma"])], [passage(["Tamsin"]), passage(["Perpetua"])])).toEqual([]);
    expect(check([entry("Saltmere Academy", ["the school"], "place"), entry("Saltmere", ["the school"], "place")], [passage(["Saltmere Academy", "Saltmere"])])).toEqual([]);
  });
});

describe("surface-mismatch", () => {
  it("flags Harry -> John when Harold keeps the initial and the length class", () => {
    const flags = check([entry("Harry", ["John", "Harold"])]);
    expect(kinds(flags)).toEqual(["surface-mismatch:Harry->John"]);
    expect(flags[0].message).toContain('does not keep the initial "H" or the length class (medium) of "Harry"; "Harold" keeps more');
    expect(flags[0].suggestions).toEqual(["Harold"]);
  });

  it("does not flag a first candidate that keeps as much as any other", () => {
    expect(check([entry("Harry", ["Harold", "John"])])).toEqual([]);
    expect(check([entry("Tamsin", ["Emma", "Lucy"])])).toEqual([]); // none keeps the T or the length
    expect(check([entry("Vellmarrow", ["the city", "Victor"], "thing")])).toEqual([]); // descriptions are deliberate for things
  });

  it("measures register, initial and length class", () => {
    expect(surfaceMatch("Harry", "Harold")).toEqual({ register: true, initial: true, length: true, score: 7 });
    expect(surfaceMatch("Harry", "John")).toEqual({ register: true, initial: false, length: false, score: 4 });
    expect(surfaceMatch("Professor Snape", "Professor Smith").register).toBe(true);
    expect(surfaceMatch("Professor Snape", "Smith").register).toBe(false);
    expect(surfaceMatch("Malachar", "the man").initial).toBe(false); // a description's first letter is no initial
  });
});

describe("suggestion ranking", () => {
  it("ranks same gender, then register, initial and length class; leaves out the other gender", () => {
    // Harold 8+4+2+1, Hal 8+4+2, John 8+4, Henry Smith 8+2 (two words, long), the boy 0 (no gender).
    expect(rankCandidates(entry("Harry", ["John", "Mary", "the boy", "Henry Smith", "Hal", "Harold"]), LEX)).toEqual(["Harold", "Hal", "John", "Henry Smith", "the boy"]);
    expect(rankCandidates(entry("Harry", ["John", "Harold"]), LEX, new Set(["Harold"]))).toEqual(["John"]);
  });
});

describe("passages", () => {
  it("match terms leftmost-longest and keep lower-case words, per block or per window", () => {
    const docs = [{ id: "d", text: "Saltmere Academy rose. Later Saltmere slept and Rose ran." }];
    const blocks = buildPassages(docs, ["Saltmere", "Saltmere Academy"], [{ doc: "d", span: [0, 22] }, { doc: "d", span: [22, 57] }]);
    expect(blocks.map((p) => [...p.terms])).toEqual([["Saltmere Academy"], ["Saltmere"]]);
    expect([...blocks[0].words]).toEqual(["rose"]);
    expect(blocks[1].words.has("rose")).toBe(false); // "Rose" capitalised is a name, not the word
    expect(buildPassages(docs, ["Saltmere"], undefined, 30)).toHaveLength(2);
  });
});

describe("the shipped first-name lists", () => {
  it("load, with names in both lists read as ambiguous", async () => {
    const lex = await loadNameLexicon();
    expect(genderOf("Harold", lex)).toBe("male");
    expect(genderOf("Emma", lex)).toBe("female");
    expect(genderOf("Sam", lex)).toBe("ambiguous");
  });
});

describe("whp anchors check", () => {
  it("prints plausibility flags with suggestions and a count per kind, leaving the file as it was", async () => {
    const f = await makeFixture({}, { forgetChars: 2000, generalChars: 2000 });
    const csv = "term,translations,category,notes,status\nTamsin,Emma|Tom|Lucy,person,,approved\nOrrin,John|Oliver|Ollie,person,,approved\n";
    await writeFile(join(f.dir, "anchors.csv"), csv);
    const res = await whpCli(f.configPath, "anchors", "check");
    expect(res.code).toBe(0);
    expect(res.out).toMatch(/anchors\.csv:2: gender-mismatch: person "Tamsin" reads as female .* candidate "Tom" is male \(better: Emma, Lucy\)/);
    expect(res.out).toMatch(/anchors\.csv:3: surface-mismatch: first candidate "John" .*\(better: Oliver, Ollie\)/);
    expect(res.out).toMatch(/flags by kind: .*gender-mismatch 1, category-mismatch 0, word-collision 0, shared-translation 0, surface-mismatch 1 \(plausibility over \d+ document windows/);
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(join(f.dir, "anchors.csv"), "utf8")).toBe(csv);
  });
});

describe("suggestions", () => {
  it("never offer a candidate that has a problem of its own", () => {
    // "Rose" collides with "rose"; "Mary" is shared with Perpetua in one passage; only "Jane" is clean.
    const flags = check([entry("Hermione", ["Rose", "Mary", "Jane"]), entry("Perpetua", ["Mary"])], [passage(["Hermione", "Perpetua"], ["rose"])]);
    expect(kinds(flags)).toEqual(["word-collision:Hermione->Rose", "shared-translation:Hermione->Mary", "shared-translation:Perpetua->Mary"]);
    expect(flags[0].suggestions).toEqual(["Jane"]);
    expect(flags[1].suggestions).toEqual(["Jane"]);
  });
});
