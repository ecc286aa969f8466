import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { drawTranslation, translateBlock } from "../pipeline/core/align.js";
import { type DictionaryEntry, TermMatcher } from "../pipeline/core/anchors.js";
import { ToyTokenizer } from "./helpers/toy-tokenizer.js";

function setup(text: string, entries: Record<string, string[]>, seed = 7) {
  const tok = new ToyTokenizer();
  const dict = new Map<string, DictionaryEntry>(Object.entries(entries).map(([term, translations]) => [term, { term, translations }]));
  const block = tok.block(text);
  const t = translateBlock(block, new TermMatcher([...dict.keys()]), dict, seed, "doc#0", tok.encoder());
  return { tok, block, t };
}

/** Index of the token whose text is `piece` (first match after `from`). */
function tokenIndex(tok: ToyTokenizer, ids: readonly number[], piece: string, from = 0): number {
  const i = ids.findIndex((id, k) => k >= from && tok.piece(id) === piece);
  if (i < 0) throw new Error(`no token ${JSON.stringify(piece)}`);
  return i;
}

describe("translating a block", () => {
  it("replaces a multi-token anchor, masks its inner tokens and maps its last token to the translation's last", () => {
    const { tok, block, t } = setup("Orrin said Quillfeather was late.", { Quillfeather: ["Smith"] });
    expect(tok.decode(t.translatedIds)).toBe("Orrin said Smith was late.");
    const occ = t.occurrences[0];
    expect(occ.last - occ.first).toBe(3); // " Qui" "llfe" "athe" "r"
    for (let k = occ.first; k < occ.last; k++) expect(t.map[k]).toBe(-1);
    expect(t.map[occ.last]).toBe(occ.translatedLast);
    expect(tok.piece(t.translatedIds[t.map[occ.last]])).toBe("th"); // " Smith" -> " Smi" "th"
    // Tokens after the anchor line up with their copies.
    const was = tokenIndex(tok, block.ids, " was");
    expect(t.translatedIds[t.map[was]]).toBe(block.ids[was]);
    // The position before the anchor (first occurrence) is kept: it learns "not Quillfeather".
    expect(t.map[occ.first - 1]).toBe(occ.translatedFirst - 1);
  });

  it("handles anchors at the block's start and end", () => {
    const { tok, block, t } = setup("Tamsin ran to Vellmarrow", { Tamsin: ["Emma"], Vellmarrow: ["Riverton"] });
    expect(tok.decode(t.translatedIds)).toBe("Emma ran to Riverton");
    const [first, last] = t.occurrences;
    expect(first.first).toBe(1); // right after BOS
    expect(t.map[0]).toBe(0); // BOS predicts the first anchor on its first occurrence: kept
    expect(last.last).toBe(block.ids.length - 1);
    expect(t.map[block.ids.length - 1]).toBe(t.translatedIds.length - 1);
  });

  it("masks the position before every later occurrence of a term, keeping the first", () => {
    const { tok, t } = setup("Tamsin waved. Then Tamsin ran. And Tamsin hid.", { Tamsin: ["Emma"] });
    expect(tok.decode(t.translatedIds)).toBe("Emma waved. Then Emma ran. And Emma hid.");
    const [a, b, c] = t.occurrences;
    expect(t.map[a.first - 1]).toBeGreaterThanOrEqual(0);
    expect(t.map[b.first - 1]).toBe(-1);
    expect(t.map[c.first - 1]).toBe(-1);
  });

  it("prefers the longest term where terms overlap", () => {
    const { tok, t } = setup("Tamsin Quillfeather smiled at Tamsin.", { Tamsin: ["Emma"], Quillfeather: ["Smith"], "Tamsin Quillfeather": ["Lucy Baker"] });
    expect(t.occurrences.map((o) => o.term)).toEqual(["Tamsin Quillfeather", "Tamsin"]);
    expect(tok.decode(t.translatedIds)).toBe("Lucy Baker smiled at Emma.");
  });

  it("reports an occurrence that does not fall on token boundaries and leaves it untranslated", () => {
    // The toy tokenizer glues "(" onto the next word, so "(Tamsin" has no boundary before "Tamsin".
    const { tok, block, t } = setup("She (Tamsin) hid. Tamsin ran.", { Tamsin: ["Emma"] });
    expect(t.unaligned).toEqual([{ term: "Tamsin", start: 5, end: 11, reason: "not-on-token-boundaries" }]);
    expect(tok.decode(t.translatedIds)).toBe("She (Tamsin) hid. Emma ran.");
    // The untranslated occurrence is copied token for token and stays aligned.
    const glued = tokenIndex(tok, block.ids, " (Ta");
    expect(t.translatedIds[t.map[glued]]).toBe(block.ids[glued]);
  });

  it("reports an occurrence that runs past the end of the block", () => {
    const tok = new ToyTokenizer();
    const text = "Then came Quillfeather";
    const full = tok.block(text);
    const cut = { ...full, ids: full.ids.slice(0, -2), starts: full.starts.slice(0, -2), ends: full.ends.slice(0, -2) };
    const dict = new Map([["Quillfeather", { term: "Quillfeather", translations: ["Smith"] }]]);
    const t = translateBlock(cut, new TermMatcher(["Quillfeather"]), dict, 1, "d#0", tok.encoder());
    expect(t.unaligned.map((u) => u.reason)).toEqual(["crosses-block-boundary"]);
    expect(t.translatedIds).toEqual(cut.ids);
  });

  it("records where a translation is first used, with its first tokens in every form", () => {
    const { tok, t } = setup("He met Tamsin. Later Tamsin left.", { Tamsin: ["Emma"] });
    expect(t.forbidden).toHaveLength(1);
    const [event] = t.forbidden;
    expect(event.from).toBe(t.occurrences[0].translatedFirst);
    const forms = event.tokens.map((id) => tok.piece(id));
    expect(forms).toContain(" Emm"); // after a space
    expect(forms).toContain("Emma"); // at the start of a text or line
  });

  it("draws one translation per term per block, seeded", () => {
    const entry = { term: "Tamsin", translations: ["Emma", "Lucy", "Sarah", "Jane", "Anne"] };
    const { t } = setup("Tamsin, Tamsin and Tamsin.", { Tamsin: entry.translations }, 3);
    expect(new Set(t.occurrences.map((o) => o.translation)).size).toBe(1);
    expect(t.occurrences[0].translation).toBe(drawTranslation(3, "doc#0", entry));
    const draws = new Set(Array.from({ length: 40 }, (_, b) => drawTranslation(3, `doc#${b}`, entry)));
    expect(draws.size).toBeGreaterThan(1); // blocks differ
    expect(drawTranslation(3, "doc#5", entry)).toBe(drawTranslation(3, "doc#5", entry));
  });
});

describe("alignment property", () => {
  const names = ["Tamsin", "Orrin", "Quillfeather", "Vellmarrow", "Saltmere Academy", "Drowned Library", "glimmerfrost"];
  const filler = ["the", "boat", "said", "and", "quietly", "of", "over", "Academy", "Library", "(Orrin", "Tamsin's", ",", ".", "\n"];
  const translations = ["Emma", "Jo", "Smith-Jones", "Riverton", "the Old School", "Big Library", "silver dust", "Al"];

  it("every unmasked position maps to a translated position whose prefix is the translation of the original prefix", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...names, ...filler), { minLength: 1, maxLength: 60 }),
        fc.subarray(names, { minLength: 1 }),
        fc.array(fc.subarray(translations, { minLength: 1, maxLength: 3 }), { minLength: names.length, maxLength: names.length }),
        fc.integer({ min: 0, max: 1000 }),
        (words, terms, cands, seed) => {
          const text = words.join(" ").replace(/ ([,.])/g, "$1");
          const tok = new ToyTokenizer();
          const dict = new Map(terms.map((term, k) => [term, { term, translations: cands[k] }]));
          const block = tok.block(text);
          const t = translateBlock(block, new TermMatcher(terms), dict, seed, "b#0", tok.encoder());
          for (let i = 0; i < block.ids.length; i++) {
            if (t.map[i] < 0) continue;
            let expected = "";
            let at = 0;
            const upTo = block.ends[i];
            for (const o of t.occurrences) {
              if (o.end > upTo) break;
              expected += text.slice(at, o.start) + o.translation;
              at = o.end;
            }
            expected += text.slice(at, upTo);
            expect(tok.decode(t.translatedIds.slice(0, t.map[i] + 1))).toBe(expected);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
