/** Curly and straight apostrophes and quotes: one character for matching, the corpus's own in the text. */
import { describe, expect, it } from "vitest";
import { translateBlock } from "../pipeline/core/align.js";
import { type DictionaryEntry, TermMatcher, variantCounts } from "../pipeline/core/anchors.js";
import { foldTypography, restyle, restyleLike, styleOf, variantPattern } from "../pipeline/core/typography.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { ToyTokenizer } from "./helpers/toy-tokenizer.js";

function setup(text: string, entries: Record<string, string[]>) {
  const tok = new ToyTokenizer();
  const dict = new Map<string, DictionaryEntry>(Object.entries(entries).map(([term, translations]) => [term, { term, translations }]));
  const block = tok.block(text);
  const t = translateBlock(block, new TermMatcher([...dict.keys()]), dict, 7, "doc#0", tok.encoder());
  return { tok, block, t };
}

describe("typographic variants", () => {
  it("folds one UTF-16 unit to one, so offsets stay those of the original text", () => {
    const text = "“King’s Cross,” said Ron‘s ʼmate′ `x`.";
    const folded = foldTypography(text);
    expect(folded).toBe(`"King's Cross," said Ron's 'mate' 'x'.`);
    expect(folded.length).toBe(text.length);
  });

  it("a term typed with ' finds the corpus's ’ (and the reverse), reporting the dictionary's spelling at the original offsets", () => {
    const text = "They left King’s Cross. At King's Cross again, then Harry’s owl.";
    const m = new TermMatcher(["King's Cross", "Harry's"]);
    const found = m.matches(text, 0, text.length);
    expect(found.map((f) => [f.term, text.slice(f.start, f.end)])).toEqual([
      ["King's Cross", "King’s Cross"],
      ["King's Cross", "King's Cross"],
      ["Harry's", "Harry’s"],
    ]);
    const curly = new TermMatcher(["Marauder’s Map"]).matches("the Marauder's Map", 0, 18);
    expect(curly).toEqual([{ term: "Marauder’s Map", start: 4, end: 18 }]);
  });

  it("double quotes match across “ ” and \"", () => {
    const text = "the “Boy Who Lived” lives";
    expect(new TermMatcher(['"Boy Who Lived"']).matches(text, 0, text.length)).toEqual([{ term: '"Boy Who Lived"', start: 4, end: 19 }]);
  });

  it("when the dictionary has both spellings, each occurrence takes the one written exactly as the text", () => {
    const text = "Harry's wand; Harry’s owl; Harryʼs cat";
    const found = new TermMatcher(["Harry’s", "Harry's"]).matches(text, 0, text.length);
    expect(found.map((f) => f.term)).toEqual(["Harry's", "Harry’s", "Harry's"]);
  });

  it("keeps word boundaries: a folded apostrophe is no letter", () => {
    const text = "O’Brien and Brien";
    expect(new TermMatcher(["Brien"]).matches(text, 0, text.length).map((f) => f.start)).toEqual([2, 12]);
  });

  it("the translated text takes the corpus's apostrophe; every other token is the original's", () => {
    const { tok, block, t } = setup("Ron ran to King’s Cross and back.", { "King's Cross": ["Sophie's Station"] });
    expect(tok.decode(t.translatedIds)).toBe("Ron ran to Sophie’s Station and back.");
    // Tokens outside the anchor are copied id for id (the tokenizer never saw a folded text).
    const occ = t.occurrences[0];
    for (let i = 0; i < occ.first; i++) expect(t.translatedIds[t.map[i]]).toBe(block.ids[i]);
    expect(occ.translation).toBe("Sophie's Station");
  });

  it("a straight-apostrophe corpus gets straight apostrophes, whatever the dictionary typed", () => {
    const { tok, t } = setup("Ron ran to King's Cross.", { "King’s Cross": ["Sophie’s Station"] });
    expect(tok.decode(t.translatedIds)).toBe("Ron ran to Sophie's Station.");
  });

  it("a term without an apostrophe takes the block's dominant style", () => {
    const { tok, t } = setup("Ron’s hat and Hermione’s book met Tamsin.", { Tamsin: ["Emma's friend"] });
    expect(tok.decode(t.translatedIds)).toBe("Ron’s hat and Hermione’s book met Emma’s friend.");
    const straight = setup("Ron's hat met Tamsin.", { Tamsin: ["Emma’s friend"] });
    expect(straight.tok.decode(straight.t.translatedIds)).toBe("Ron's hat met Emma's friend.");
  });

  it("forbids the first tokens of the translation as written into the text", () => {
    const { tok, t } = setup("Ron met Tamsin’s cat.", { "Tamsin's": ["'Tis"] });
    expect(tok.decode(t.translatedIds)).toBe("Ron met ‘Tis cat.");
    // The written form starts with the opening quote token, which is what the model would emit next.
    expect(t.forbidden[0].tokens.map((id) => tok.piece(id))).toContain(" ‘");
  });

  it("restyle and styleOf: apostrophes after letters, opening quotes at word starts", () => {
    const curly = styleOf("“Hello,” said Ron’s aunt.");
    expect(restyle(`"Jo's 'own' place"`, curly)).toBe("“Jo’s ‘own’ place”");
    expect(restyle(`“Jo’s”`, styleOf("plain 'text' Ron's"))).toBe(`"Jo's"`);
    expect(restyleLike("Smith", "King’s", () => "")).toBe("Smith");
  });

  it("variantPattern builds a regex that accepts every form", () => {
    const re = new RegExp(`^${variantPattern("King's (Cross)")}$`, "u");
    for (const a of ["'", "’", "‘", "ʼ", "′", "`"]) expect(re.test(`King${a}s (Cross)`)).toBe(true);
    expect(re.test("Kings (Cross)")).toBe(false);
  });

  it("reports per term which written forms were found", () => {
    const text = "King’s Cross, King’s Cross, King's Cross; Tamsin";
    const m = new TermMatcher(["King's Cross", "Tamsin"]);
    const v = variantCounts(m.matches(text, 0, text.length).map((x) => ({ term: x.term, surface: text.slice(x.start, x.end) })));
    expect(v).toEqual({ "King's Cross": { "King’s Cross": 2, "King's Cross": 1 } });
  });

  it("generated: 3,000 terms typed straight or curly, a corpus writing either, every planted occurrence found", () => {
    const rand = seededRandom(16);
    const APOS = ["'", "’", "ʼ", "‘"];
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
    const syll = ["ka", "lo", "mi", "ren", "tho", "vas", "qu", "zel", "bri", "dun"];
    const word = () => {
      let w = pick(syll).toUpperCase()[0] + pick(syll).slice(1);
      for (let k = 0; k < 3; k++) w += pick(syll);
      return w;
    };
    const terms = new Set<string>();
    while (terms.size < 3000) terms.add(rand() < 0.5 ? `${word()}${pick(APOS)}s ${word()}` : word());
    const list = [...terms];
    const pieces: string[] = [];
    const planted: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const term = pick(list);
      const written = term.replace(/['’ʼ‘]/g, () => pick(APOS));
      pieces.push(`and ${written} went`);
      planted.push(term);
    }
    const text = pieces.join(" ");
    const found = new TermMatcher(list).matches(text, 0, text.length);
    // Folding may unify two generated terms (same letters, other apostrophe): compare folded.
    expect(found.map((f) => foldTypography(f.term))).toEqual(planted.map(foldTypography));
  });
});
