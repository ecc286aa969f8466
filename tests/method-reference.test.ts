/**
 * Golden cases: random texts, dictionaries and logit rows, labelled by whp's public pure functions
 * (translateBlock + combineBlock + toHfLabels) and by the plain reference of the method's rules in
 * helpers/reference-method.ts. The labels must be identical on full rows, and on every certified
 * position of top-k rows.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { drawTranslation, translateBlock } from "../pipeline/core/align.js";
import { type DictionaryEntry, TermMatcher } from "../pipeline/core/anchors.js";
import { combineBlock, toHfLabels } from "../pipeline/core/combine.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { type FullRows, type LogitSpace, fullToTopK } from "../pipeline/core/rows.js";
import { firstTokens, referenceGeneric, referenceLabels, referenceTranslate } from "./helpers/reference-method.js";
import { ToyTokenizer } from "./helpers/toy-tokenizer.js";

const NAMES = ["Tamsin", "Orrin", "Quillfeather", "Vellmarrow", "Saltmere Academy", "Drowned Library"];
const FILLER = ["the", "boat", "said", "and", "quietly", "of", "over", "Academy", "Library", "(Orrin", ",", ".", "\n"];
// "Jo", "Al" and "Em" are one token after a space: the case where the old rule differed.
const TRANSLATIONS = ["Emma", "Jo", "Al", "Em", "Smith-Jones", "Riverton", "the Old School", "Big Library"];
const ALPHAS = [5, 2.5, 10];

/** The rows come from a seed because their size (the vocabulary) is known only after both sides have
 * tokenized (mulberry32, the project's seeded generator: it draws test data, it is not under test). */
const rng = seededRandom;

/** Small integers (ties are common), with the translations' first tokens often on top, so the
 * forbidden rule decides many labels. */
function randomRow(V: number, hot: readonly number[], rand: () => number): number[] {
  const row = Array.from({ length: V }, () => Math.floor(rand() * 9) - 4);
  for (const t of hot) if (rand() < 0.4) row[t] = 3 + Math.floor(rand() * 4);
  return row;
}

/** float32 values, as rows arrive; log-prob rows normalised, as servers return them. */
function finish(row: number[], space: LogitSpace): number[] {
  if (space === "logits") return row.map(Math.fround);
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => Math.fround(x - lse));
}

const asFull = (rows: number[][], V: number): FullRows => ({ kind: "full", n: rows.length, vocabSize: V, values: Float32Array.from(rows.flat()) });

interface Golden {
  tok: ToyTokenizer;
  t: ReturnType<typeof translateBlock>;
  ref: ReturnType<typeof referenceTranslate>;
  reinforced: number[][];
  baseline: number[][];
  V: number;
}

function goldenCase(words: string[], terms: string[], cands: string[][], seed: number, rowSeed: number, space: LogitSpace): Golden {
  const text = words.join(" ").replace(/ ([,.])/g, "$1");
  const tok = new ToyTokenizer();
  const dict = new Map<string, DictionaryEntry>(terms.map((term, k) => [term, { term, translations: cands[k] }]));
  const block = tok.block(text);
  const t = translateBlock(block, new TermMatcher(terms), dict, seed, "b#0", tok.encoder());
  const chosen = new Map(terms.map((term) => [term, drawTranslation(seed, "b#0", dict.get(term) as DictionaryEntry)]));
  const encode = (s: string) => tok.encode(s).ids;
  const ref = referenceTranslate(block.ids, chosen, encode);
  const hot = [...new Set([...chosen.values()].flatMap((w) => firstTokens(w, encode)))];
  const V = countPieces(tok) + 3; // and a few tokens no text uses
  const rand = rng(rowSeed);
  const baseline = ref.translated.map(() => randomRow(V, hot, rand));
  // Some reinforced rows raise every token over the compared baseline row, so the penalty sinks them
  // all and a forbidden token's own value decides: that is where lowering and assigning differ.
  const reinforced = ref.map.map((j) => (j >= 0 && rand() < 0.25 ? baseline[j].map((x) => x + 1 + Math.floor(rand() * 3)) : randomRow(V, hot, rand)));
  return { tok, t, ref, reinforced: reinforced.map((r) => finish(r, space)), baseline: baseline.map((r) => finish(r, space)), V };
}

function countPieces(tok: ToyTokenizer): number {
  let n = 0;
  while (tok.piece(n) !== undefined) n++;
  return n;
}

const caseArb = fc.record({
  words: fc.array(fc.constantFrom(...NAMES, ...NAMES, ...FILLER), { minLength: 1, maxLength: 40 }),
  terms: fc.subarray(NAMES, { minLength: 1 }),
  cands: fc.array(fc.subarray(TRANSLATIONS, { minLength: 1, maxLength: 3 }), { minLength: NAMES.length, maxLength: NAMES.length }),
  seed: fc.integer({ min: 0, max: 1000 }),
  rowSeed: fc.integer(),
  space: fc.constantFrom<LogitSpace>("logits", "logprobs"),
  k: fc.integer({ min: 1, max: 8 }),
});

describe("golden cases: whp against the plain reference of the method", () => {
  it("translates, aligns and labels exactly like the reference, on full rows and on certified top-k rows", () => {
    const tally = { labels: 0, strictMatters: 0, minMatters: 0, certifiedTopK: 0 };
    fc.assert(
      fc.property(caseArb, ({ words, terms, cands, seed, rowSeed, space, k }) => {
        const g = goldenCase(words, terms, cands, seed, rowSeed, space);
        // The alignment first, so a difference there is reported as such and not as a label.
        expect(g.t.translatedIds).toEqual(g.ref.translated);
        expect(Array.from(g.t.map)).toEqual(g.ref.map);
        const full = { reinforced: asFull(g.reinforced, g.V), baseline: asFull(g.baseline, g.V) };
        const input = { map: g.t.map, forbidden: g.t.forbidden, alphas: ALPHAS, logitSpace: space };
        const out = combineBlock({ ...input, ...full });
        const topk = combineBlock({ ...input, reinforced: fullToTopK(full.reinforced, k), baseline: fullToTopK(full.baseline, k) });
        ALPHAS.forEach((alpha, a) => {
          const generic = referenceGeneric(g.ref, g.reinforced, g.baseline, alpha);
          expect(Array.from(toHfLabels(out.generic[a]))).toEqual(referenceLabels(generic));
          for (let i = 0; i < generic.length; i++) {
            if (topk.certified[a][i] !== 1) continue;
            expect(topk.generic[a][i]).toBe(generic[i]);
            if (generic[i] >= 0) tally.certifiedTopK++;
          }
          const differs = (other: number[]) => other.filter((x, i) => x !== generic[i]).length;
          tally.labels += generic.filter((x) => x >= 0).length;
          tally.strictMatters += differs(referenceGeneric(g.ref, g.reinforced, g.baseline, alpha, { forbidAtUse: true }));
          tally.minMatters += differs(referenceGeneric(g.ref, g.reinforced, g.baseline, alpha, { assignMean: true }));
        });
      }),
      { numRuns: 400 },
    );
    // Not vacuous: the cases tell the method's rule from the one-row-early rule and from assigning
    // the mean, and the top-k comparison certifies labels.
    expect(tally.strictMatters).toBeGreaterThan(20);
    expect(tally.minMatters).toBeGreaterThan(20);
    expect(tally.certifiedTopK).toBeGreaterThan(tally.labels / 10);

  });

  it("a one-token translation is not forbidden at the row of the anchor's last token, only after it", () => {
    // "Orrin" -> "Jo" (one token). Every row prefers " Jo" (5) over "said" (2); once forbidden, " Jo"
    // drops to the row mean (7 / V < 2) and "said" wins.
    const tok = new ToyTokenizer();
    const block = tok.block("said Orrin and Orrin");
    const dict = new Map([["Orrin", { term: "Orrin", translations: ["Jo"] }]]);
    const t = translateBlock(block, new TermMatcher(["Orrin"]), dict, 1, "b#0", tok.encoder());
    expect(tok.decode(t.translatedIds)).toBe("said Jo and Jo");
    const [jo, said] = [tok.id(" Jo"), tok.id("said")];
    const V = countPieces(tok);
    expect(t.forbidden).toEqual([{ from: 2, tokens: [jo, tok.id("Jo")].sort((a, b) => a - b) }]);
    const row = Array.from({ length: V }, (_, x) => (x === jo ? 5 : x === said ? 2 : 0));
    const rows = (n: number) => asFull(Array.from({ length: n }, () => row), V);
    const out = combineBlock({ reinforced: rows(block.ids.length), baseline: rows(t.translatedIds.length), map: t.map, forbidden: t.forbidden, alphas: [5], logitSpace: "logits" });
    // Original rows: BOS, "said", " Orr" (masked), "in" -> translated row 2, the row of " Jo" itself:
    // not yet forbidden. " and" is masked (it precedes a later occurrence); the last "in" is after it.
    expect(Array.from(out.generic[0])).toEqual([jo, jo, -1, jo, -1, -1, said]);
  });
});
