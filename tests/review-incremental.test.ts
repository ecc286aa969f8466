/**
 * The review page's counts and flags at book scale come from an index and are updated per edit
 * (review/term-index.ts, passages.ts, plausibility-cache.ts). These tests hold them to the full
 * recount, `whp anchors check`'s own path (CorpusIndex, checkEntries, buildPassages, checkPlausibility
 * over everything), after every edit of a sequence, on a generated book with curly and straight
 * apostrophes, nested multi-word terms and shared generic translations.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { generateBookCorpus } from "../bench/book-corpus.js";
import { checkEntries, DEFAULT_CHECKS } from "../pipeline/anchors/checks.js";
import { CorpusIndex, loadWordFrequencies, type BlockSpan } from "../pipeline/anchors/corpus-stats.js";
import { loadNameLexicon } from "../pipeline/anchors/name-lexicon.js";
import { buildPassages, checkPlausibility, type NameLexicon } from "../pipeline/anchors/plausibility.js";
import { seededRandom } from "../pipeline/core/hash.js";
import { Annotator } from "../pipeline/review/annotate.js";
import { concordance } from "../pipeline/review/concordance.js";
import { readRows, type StoredRow } from "../pipeline/review/rows.js";
import { applyEdits } from "../pipeline/review/store.js";
import { IndexedCorpus } from "../pipeline/review/term-index.js";
import { PassageIndex } from "../pipeline/review/passages.js";
import { TermMatcher } from "../pipeline/core/anchors.js";

type Docs = { id: string; text: string }[];

/** What the page showed before indexing: every count and flag recomputed over the whole corpus. */
function fullRecount(docs: Docs, blocks: BlockSpan[] | undefined, freq: ReadonlyMap<string, number>, names: NameLexicon, rows: readonly StoredRow[]) {
  const corpus = new CorpusIndex(docs, blocks);
  const entries = rows.filter((r) => r.status !== "rejected" && r.term).map((r) => ({ term: r.term, translations: r.translations, category: r.category, line: r.line }));
  const flags: { line?: number; kind: string; message: string; suggestions?: string[] }[] = checkEntries(entries, corpus, freq, DEFAULT_CHECKS);
  flags.push(...checkPlausibility(entries, buildPassages(docs, entries.map((e) => e.term), blocks), names, freq));
  return rows.map((r) => {
    const s = corpus.stats(r.term);
    const own = r.status === "rejected" ? [] : flags.filter((f) => f.line === r.line).map((f) => ({ kind: f.kind, message: f.suggestions?.length ? `${f.message} (better: ${f.suggestions.join(", ")})` : f.message }));
    return { term: r.term, occurrences: s.occurrences, blocks: s.blocks ?? null, flags: own };
  });
}

const view = (rows: { term: string; occurrences: number; blocks: number | null; flags: { kind: string; message: string }[] }[]) =>
  rows.map((r) => ({ term: r.term, occurrences: r.occurrences, blocks: r.blocks, flags: r.flags }));

/** Consecutive spans of about 1,500 characters, as the run's blocks would cover the documents. */
const blocksOf = (docs: Docs): BlockSpan[] => docs.flatMap((d) => Array.from({ length: Math.ceil(d.text.length / 1500) }, (_, i): BlockSpan => ({ doc: d.id, span: [i * 1500, Math.min(d.text.length, (i + 1) * 1500)] })));

describe("incremental counts and flags equal a full recount", async () => {
  const freq = await loadWordFrequencies();
  const names = await loadNameLexicon();
  const book = generateBookCorpus({ chars: 250_000, terms: 260, docs: 3, seed: 7 });

  for (const withBlocks of [false, true]) {
    it(`after each edit of a seeded sequence (${withBlocks ? "the run's blocks" : "windows, no blocks yet"})`, () => {
      const blocks = withBlocks ? blocksOf(book.docs) : undefined;
      const annotator = new Annotator(book.docs, blocks, freq, names);
      let rows = readRows(book.csv, "book.csv").rows;
      const rand = seededRandom(withBlocks ? 2 : 1);
      const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)];
      const set = (i: number, change: Partial<StoredRow>) => (rows = rows.map((r, j) => (j === i ? { ...r, ...change } : r)));
      const added = (term: string, translations: string[]): StoredRow => ({ term, translations, category: "person", notes: "", status: "pending", line: rows.length + 2, version: "", confidence: null, other: {} });
      const shared = rows.flatMap((r) => r.translations);
      const edits: (() => void)[] = [
        () => set(0, { status: "rejected" }), // the most frequent term: most passages change
        () => set(0, { status: "approved" }),
        () => set(rows.findIndex((r) => r.term.includes(" ")), { status: "rejected" }), // a full name: its first name shows again
        () => set(1, { translations: [pick(shared), pick(shared)] }),
        () => set(Math.floor(rand() * rows.length), { translations: ["Zebedee"] }),
        () => set(Math.floor(rand() * rows.length), { status: "rejected" }),
        () => set(Math.floor(rand() * rows.length), { category: "place" }),
        () => (rows = [...rows, added(rows[3].term.split(" ")[0] + " the Elder", ["Old Tom"])]),
        () => (rows = [...rows, added(rows.find((r) => r.term.includes("'"))!.term.replace("'", "\u2019"), ["the cross"])]),
        () => (rows = [...rows, added("Nobody Atall", [pick(shared)])]),
        () => set(rows.findIndex((r) => r.status === "rejected"), { status: "pending" }),
      ];
      expect(view(annotator.annotate(rows))).toEqual(fullRecount(book.docs, blocks, freq, names, rows));
      for (let step = 0; step < 16; step++) {
        (step < edits.length ? edits[step] : pick(edits))();
        expect(view(annotator.annotate(rows)), `after edit ${step}`).toEqual(fullRecount(book.docs, blocks, freq, names, rows));
      }
    });
  }

  it("the concordance lists the same occurrences from the index as from a scan", () => {
    const annotator = new Annotator(book.docs, undefined, freq, names);
    const rows = readRows(book.csv, "book.csv").rows;
    for (const r of rows.slice(0, 40)) {
      const dictionary = new Map(rows.filter((x) => x.term !== r.term).map((x) => [x.term, x.translations[0]]));
      const { translation, ...fromIndex } = annotator.concordance(rows, r.term);
      expect(fromIndex).toEqual(concordance(book.docs, r.term, translation, dictionary));
    }
  });
});

describe("an edit's rows without parsing the file again", () => {
  it("equal what reading the written file gives, for any edits", () => {
    const csv = '\uFEFFterm,translations,category,notes,status,extra\r\nTamsin,Emma|Lucy,person,,pending,x1\r\n"Orrin ""O"" Vale",Tom,person,"a, b",,\r\nCinderholt,the village,place,,rejected,x2\r\n';
    const value = fc.constantFrom("", "x", "a, b", 'say "hi"', " padded ", "line\nbreak", "pending", "approved", "rejected");
    const change = fc.record({ translations: fc.option(fc.array(fc.constantFrom("Emma", "the town", 'Q "x"', "a,b"), { minLength: 1, maxLength: 3 }), { nil: undefined }), category: fc.option(value, { nil: undefined }), notes: fc.option(value, { nil: undefined }), status: fc.option(fc.constantFrom("pending", "approved", "rejected"), { nil: undefined }) }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), change), { minLength: 1, maxLength: 4 }), (steps) => {
        let text = csv;
        for (const [i, ch] of steps) {
          const rows = readRows(text, "f.csv").rows;
          const changes = Object.fromEntries(Object.entries(ch).filter(([, v]) => v !== undefined));
          const r = applyEdits(text, "f.csv", [{ term: rows[i].term, base: rows[i].version, changes }]);
          if (r.text === undefined) continue;
          if (r.read) expect(r.read).toEqual(readRows(r.text, "f.csv"));
          text = r.text;
        }
      }),
      { numRuns: 400, seed: 16 },
    );
  });
});

describe("the passages' matches after term-set changes", () => {
  it("equal a full leftmost-longest scan with the new terms", () => {
    const book = generateBookCorpus({ chars: 120_000, terms: 200, docs: 2, seed: 3 });
    // Sub-terms and longer terms that a change can uncover or hide: "X" of "X Y", "X Y Z" over "X Y".
    const extra = book.terms.filter((t) => t.includes(" ")).flatMap((t) => [t.split(" ")[0], `${t} Junior`, t.split(" ").slice(1).join(" ")]);
    const pool = [...new Set([...book.terms, ...extra])];
    const corpus = new IndexedCorpus(book.docs);
    const rand = seededRandom(5);
    let terms = book.terms.slice();
    const index = new PassageIndex(book.docs, terms, (w) => corpus.wordPositions(w));
    for (let step = 0; step < 25; step++) {
      const next = new Set(terms);
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) {
        const t = pool[Math.floor(rand() * (step % 3 === 0 ? 10 : pool.length))]; // often the frequent ones
        if (next.has(t)) next.delete(t);
        else next.add(t);
      }
      terms = [...next];
      index.update(terms);
      const full = new TermMatcher(terms);
      book.docs.forEach((d, i) => expect(index.matchesIn(i), `step ${step}, ${d.id}`).toEqual(full.matches(d.text, 0, d.text.length)));
      // The passages' term sets, and the per-term lists the plausibility checks read, as a scan finds them.
      expect(index.passages.map((p) => [...p.terms].sort()), `step ${step}`).toEqual(buildPassages(book.docs, terms).map((p) => [...p.terms].sort()));
      for (const t of pool) expect(new Set(index.passagesWith(t)), `step ${step}, passages with ${t}`).toEqual(new Set(index.passages.filter((p) => p.terms.has(t))));
    }
  });
});

describe("checkPlausibility for a subset of the rows", async () => {
  const freq = await loadWordFrequencies();
  const names = await loadNameLexicon();
  it("counts word collisions and shared passages from the passage index as a scan does, whichever list is shorter", () => {
    // "Hermia" in 8 of 10 windows, "grace" in the same 8, "rose" in 3 of them and in the 2 others;
    // "Lysa" (sharing "Grace" and "Rose" with Hermia) in 3 of Hermia's and one other: each count is
    // taken from either side.
    const window = (i: number) => (i < 8 ? `Hermia walked${i % 3 === 0 ? " and rose" : ""} with grace${i < 3 ? " beside Lysa" : ""}. ` : i === 8 ? "Lysa rose. " : "The sun rose. ").padEnd(2000, ".");
    const docs = [{ id: "d", text: Array.from({ length: 10 }, (_, i) => window(i)).join("") }];
    const entries = [
      { term: "Hermia", translations: ["Rose", "Grace", "Helen"], category: "person", line: 2 },
      { term: "Lysa", translations: ["Grace", "Rose"], category: "person", line: 3 },
    ];
    const corpus = new IndexedCorpus(docs);
    const index = new PassageIndex(docs, entries.map((e) => e.term), (w) => corpus.wordPositions(w));
    const scope = { passagesWith: (t: string) => index.passagesWith(t), passagesWithWord: (w: string) => index.passagesWithWord(w) };
    const full = checkPlausibility(entries, buildPassages(docs, entries.map((e) => e.term)), names, freq);
    expect(full.filter((f) => f.kind === "word-collision").map((f) => f.message)).toEqual([
      'candidate "Rose" is also the word "rose", which occurs in 3 of the 8 passage(s) with "Hermia"',
      'candidate "Grace" is also the word "grace", which occurs in 8 of the 8 passage(s) with "Hermia"',
      'candidate "Grace" is also the word "grace", which occurs in 3 of the 4 passage(s) with "Lysa"',
      'candidate "Rose" is also the word "rose", which occurs in 2 of the 4 passage(s) with "Lysa"',
    ]);
    expect(full.filter((f) => f.kind === "shared-translation").map((f) => f.message.split(";")[1])).toEqual(Array(4).fill(" the two terms occur together in 3 passage(s)"));
    expect(checkPlausibility(entries, index.passages, names, freq, undefined, scope)).toEqual(full);
  });

  it("gives those rows' flags exactly as the whole run gives them", () => {
    const book = generateBookCorpus({ chars: 120_000, terms: 200, docs: 2, seed: 11 });
    const entries = readRows(book.csv, "book.csv").rows.map((r) => ({ term: r.term, translations: r.translations, category: r.category, line: r.line }));
    const passages = buildPassages(book.docs, entries.map((e) => e.term));
    const all = checkPlausibility(entries, passages, names, freq);
    expect(new Set(all.map((f) => f.kind)).size).toBeGreaterThanOrEqual(3);
    const rand = seededRandom(4);
    for (let k = 0; k < 5; k++) {
      const chosen = new Set(entries.filter(() => rand() < 0.2).map((e) => e.line));
      const part = checkPlausibility(entries, passages, names, freq, undefined, { only: (e) => chosen.has(e.line!) });
      expect(part).toEqual(all.filter((f) => chosen.has(f.line!)));
    }
  });
});

describe("the word index counts what the whole-word scan counts", () => {
  it("for any text and term, overlapping and punctuated ones included", () => {
    const alphabet = fc.constantFrom("a", "b", "A", " ", "'", "\u2019", "\u02bc", "\u201c", "\"", "-", ".", "é", "_", "1", "\n", "\u{1d400}", "\ud835");
    fc.assert(
      fc.property(fc.array(fc.string({ unit: alphabet, maxLength: 60 }), { minLength: 1, maxLength: 3 }), fc.string({ unit: alphabet, minLength: 1, maxLength: 6 }), (texts, term) => {
        const docs = texts.map((text, i) => ({ id: `d${i}`, text }));
        const blocks = docs.flatMap((d) => [0, 20, 40].filter((s) => s < d.text.length).map((s): BlockSpan => ({ doc: d.id, span: [s, s + 20] })));
        expect(new IndexedCorpus(docs, blocks).stats(term)).toEqual(new CorpusIndex(docs, blocks).stats(term));
      }),
      { numRuns: 3000, seed: 16 },
    );
  });

  it("reads a letter outside the Basic Multilingual Plane before a term as one letter, as the regex does", () => {
    const docs = [{ id: "d", text: "\u{1d400}'Ann and 'Ann, \ud835'Ann" }];
    expect(new IndexedCorpus(docs).stats("'Ann")).toEqual(new CorpusIndex(docs).stats("'Ann"));
    expect(new IndexedCorpus(docs).count("'Ann")).toBe(2);
  });

  it("skips an occurrence that overlaps the previous one, as matchAll does", () => {
    const docs = [{ id: "d", text: "Ann Ann Ann, Ann Ann." }];
    expect(new IndexedCorpus(docs).count("Ann Ann")).toBe(new CorpusIndex(docs).count("Ann Ann"));
    expect(new IndexedCorpus(docs).count("Ann Ann")).toBe(2);
  });
});
