/** Importing the authors' evaluation files as they are (issue #16, part 3), on generated data of their
 * shape: ~300 completion prompts with duplicates of differing subtlety, most containing one of their own
 * references; derived sets without subtlety; 37 plain probability prompts without targets. */
import { describe, expect, it } from "vitest";
import { aggregateFamiliarity, describeDuplicate, importAuthorsPrompts } from "../pipeline/eval/familiarity.js";
import { parsePlainProbabilityPrompts, tagPlainPrompts } from "../pipeline/eval/import-probability.js";
import { givenAwayReferences, leakedTerms, referenceLeaks } from "../pipeline/eval/scores.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { UserError } from "../pipeline/core/errors.js";

const NAMES = ["Harry", "Hermione", "Ron", "Hogwarts", "Dumbledore", "Snape", "Hagrid", "Quidditch", "King's Cross", "Marauder's Map"];

/** 300 authors-shaped prompts: 260 name one of their own references, two texts repeat with another subtlety. */
function authorsFile() {
  const rand = seededRandom(300);
  const rows = [];
  for (let i = 0; i < 298; i++) {
    const refs = [NAMES[i % NAMES.length], NAMES[(i + 3) % NAMES.length]];
    const text = i < 260 ? `Prompt ${i}: then ${refs[0].replace("'", "’")} walked towards the` : `Prompt ${i}: the boy walked towards the`;
    rows.push({ prompt: { prompt: text, references: refs, subtlety: 1 + Math.floor(rand() * 10) } });
  }
  rows.push({ prompt: { prompt: rows[10].prompt.prompt, references: rows[10].prompt.references, subtlety: rows[10].prompt.subtlety === 8 ? 7 : 8 } });
  rows.push({ prompt: { prompt: `${rows[270].prompt.prompt}  `, references: ["Snape"], subtlety: rows[270].prompt.subtlety } });
  return rows;
}

describe("completion prompts as published", () => {
  it("lists duplicates with the fields in which they differ, keeps the first, counts given-away references", () => {
    const r = importAuthorsPrompts(authorsFile(), "hp.json");
    expect(r.prompts).toHaveLength(298);
    expect(r.duplicates.map((d) => [d.kept, d.dropped, d.differs.map((f) => f.field)])).toEqual([
      [10, 298, ["subtlety"]],
      [270, 299, ["references"]],
    ]);
    expect(describeDuplicate(r.duplicates[0])).toMatch(/^entry 299 repeats entry 11 \(subtlety \d+ kept, \d+ dropped\): "Prompt 10:/);
    // 260 prompts contain their first reference (typed with a curly apostrophe in some: still the same reference).
    expect(r.givenAway).toEqual({ prompts: 260, references: 260 });
    expect(r.withoutSubtlety).toBe(0);
  });

  it("accepts the same shape without subtlety and says so; the score has no per-subtlety breakdown", () => {
    const rows = authorsFile().map(({ prompt: { prompt, references } }) => ({ prompt: { prompt, references } }));
    const r = importAuthorsPrompts(rows, "derived.json");
    expect(r.withoutSubtlety).toBe(298);
    expect(r.prompts[0]).toEqual({ id: "f0000", prompt: rows[0].prompt.prompt, references: rows[0].prompt.references, source: "derived.json" });
    const agg = aggregateFamiliarity(r.prompts.map((p, i) => ({ subtlety: p.subtlety, score: (i % 4) as 0 | 1 | 2 | 3 })), 1);
    expect(agg.bySubtlety).toEqual({});
    expect(agg.score.n).toBe(298);
    // Still refused: a subtlety out of range, naming the field.
    expect(() => importAuthorsPrompts([{ prompt: { prompt: "x", references: [], subtlety: 0 } }], "d.json")).toThrow(/0\.prompt\.subtlety/);
  });

  it("the leak check never counts a reference the prompt already gave away, and says which it left out", () => {
    const prompt = "Then Harry’s friend Ron said";
    expect(givenAwayReferences(prompt, ["Harry's", "Ron", "Hermione"])).toEqual(["Harry's", "Ron"]);
    expect(referenceLeaks(prompt, "Ron and Hermione went to Harry's house", ["Harry's", "Ron", "Hermione"])).toEqual({ leaked: ["Hermione"], excluded: ["Harry's", "Ron"] });
    expect(leakedTerms("The boy", "Harry’s wand", ["Harry's"])).toEqual(["Harry's"]);
  });
});

/** A word-level toy tokenizer: each space-led word is a token (" Harry"), so the tag after a prompt is
 * the term's first word with its space; "Hog" + "warts" shows a multi-token term. */
function toyIo() {
  const ids = new Map<string, number>();
  const id = (w: string) => ids.get(w) ?? (ids.set(w, ids.size + 1), ids.size);
  const encode = async (text: string) => [...text.matchAll(/ ?(Hog|warts|[^\s]+)/g)].map((m) => id(m[0]));
  return { io: { encode, prefix: [0] }, id };
}

describe("plain probability prompts", () => {
  const dictionary = [
    { term: "Harry", translations: ["Jon"] },
    { term: "Hogwarts", translations: ["Mystic Academy"] },
    { term: "Ron", translations: ["Tom"] },
    // Its translation starts with the same token: not specific to the forget set.
    { term: "the Dark Lord", translations: ["the villain"] },
  ];

  it("tags the first tokens of every dictionary term after the prompt, or the prompt's own targets, and reports the prompts with none", async () => {
    const { io, id } = toyIo();
    const prompts = parsePlainProbabilityPrompts(
      [{ prompt: "Harry Potter is a" }, { prompt: "His best friend is", targets: ["Ron", "Hermione"] }, { prompt: "The school is called", targets: ["the Dark Lord"] }, { prompt: "He went to Harry, Ron and Hogwarts and the Dark Lord" }],
      "prob.json",
    );
    const { prompts: out, stats, noTarget } = await tagPlainPrompts(prompts, dictionary, io, "prob.json");
    expect(out.map((p) => p.id)).toEqual(["i0000", "i0001"]);
    // "Harry" is in the prompt: given away, not a target.
    expect(out[0].terms).toEqual(["Hogwarts", "Ron"]);
    expect(out[0].tagged).toEqual([id(" Hog"), id(" Ron")].sort((a, b) => a - b));
    expect(out[0].context_ids[0]).toBe(0);
    expect(out[1].terms).toEqual(["Hermione", "Ron"]);
    expect(out[1]).toMatchObject({ origin: "imported", block: "prob.json", position: -1, text: "His best friend is" });
    expect(noTarget).toEqual(["The school is called", "He went to Harry, Ron and Hogwarts and the Dark Lord"]);
    expect(stats).toMatchObject({ prompts: 4, kept: 2, noTarget: 2, withTargets: 2, givenAway: 5, sharedFirstToken: 2 });
  });

  it("generated at the authors' scale: 37 prompts over 1,600 terms, every kept prompt tagged, the rest counted", async () => {
    const { io } = toyIo();
    const terms = Array.from({ length: 1600 }, (_, i) => ({ term: `Name${i}`, translations: [`Other${i}`] }));
    const prompts = Array.from({ length: 37 }, (_, i) => (i % 10 === 9 ? { prompt: `Prompt ${i} is`, targets: ["Other1"] } : { prompt: `Prompt ${i} is` }));
    const r = await tagPlainPrompts(prompts, [...terms, { term: "Other1", translations: ["Other1"] }], io, "p.json");
    expect(r.stats.kept + r.stats.noTarget).toBe(37);
    expect(r.stats.noTarget).toBe(3);
    for (const p of r.prompts) expect(p.tagged.length).toBe(1600);
  });

  it("refuses a file of another shape, naming the entry", () => {
    expect(() => parsePlainProbabilityPrompts([{ prompt: { prompt: "x" } }], "p.json")).toThrow(UserError);
    expect(() => parsePlainProbabilityPrompts([{ prompt: "ok" }, { text: "x" }], "p.json")).toThrow(/p\.json[\s\S]*1\.prompt/);
  });
});
