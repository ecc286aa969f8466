/**
 * Counting terms over a book-sized corpus without rescanning it: a word index built once (every
 * maximal run of letters, digits and "_" with its position), then a term's occurrences are found by
 * looking up its first word and checking each place as the corpus's own whole-word matcher
 * (corpus-stats' wordRegex) would: see isWholeWordAt. Pure over in-memory documents.
 *
 * Why this finds exactly what a full scan finds: a whole-word occurrence of a term has no word
 * character right before or after it, so the term's first word run is a maximal word run of the
 * (folded) text there, which the index holds; the matcher then decides. Terms without any word character fall back to the full scan. Matches
 * do not overlap, as with the full scan's matchAll (the next one is looked for after the previous end).
 */
import { CorpusIndex, context, occurrenceStarts, type BlockSpan, type TermStats } from "../anchors/corpus-stats.js";
import type { SourceDocument } from "../anchors/sample.js";
import { foldTypography } from "../core/typography.js";

const WORD_RUN = /[\p{L}\p{N}_]+/gu;
const NONE = new Int32Array(0);

/** The term's first word run (apostrophes and quotes folded, as matching folds them) and where it
 * starts in the term, or undefined for a term with none. */
export function firstWord(term: string): { word: string; offset: number } | undefined {
  const m = /[\p{L}\p{N}_]+/u.exec(foldTypography(term));
  return m ? { word: m[0], offset: m.index } : undefined;
}

const WORD_CODE_POINT = /^[\p{L}\p{N}_]$/u;
const isWordCodePoint = (cp: number | undefined) => cp !== undefined && WORD_CODE_POINT.test(String.fromCodePoint(cp));

/** The code point that ends at `i` (a surrogate pair read whole), as a lookbehind reads it. */
function codePointBefore(text: string, i: number): number | undefined {
  if (i <= 0) return undefined;
  const low = text.charCodeAt(i - 1);
  if (i >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(i - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(i - 2);
  }
  return low;
}

/**
 * What corpus-stats' wordRegex(term) matches at `s`, without compiling a regular expression per term
 * (with Unicode classes that is 0.65 ms each: a second of start-up for 2,000 terms and candidates):
 * the folded text spells the folded term there (wordRegex accepts exactly the variants that fold to
 * the term's apostrophes and quotes), and no letter, digit or "_" touches either end. The property
 * test in tests/review-incremental.test.ts holds this to wordRegex itself.
 */
function isWholeWordAt(text: string, folded: string, foldedTerm: string, s: number): boolean {
  return folded.startsWith(foldedTerm, s) && !isWordCodePoint(codePointBefore(text, s)) && !isWordCodePoint(text.codePointAt(s + foldedTerm.length));
}

/** Word -> its positions, as (document index, offset) pairs flattened into one array. The words are
 * those of the folded text (core/typography.ts: same offsets): a variant that is a letter, such as the
 * modifier apostrophe "ʼ", must split words where matching treats it as an apostrophe. */
export function buildWordIndex(docs: readonly SourceDocument[], folded = docs.map((d) => foldTypography(d.text))): Map<string, Int32Array> {
  const lists = new Map<string, number[]>();
  folded.forEach((text, di) => {
    for (const m of text.matchAll(WORD_RUN)) {
      const list = lists.get(m[0]);
      if (list) list.push(di, m.index);
      else lists.set(m[0], [di, m.index]);
    }
  });
  // Typed arrays: a million positions the garbage collector need not walk on every edit.
  const index = new Map<string, Int32Array>();
  for (const [w, list] of lists) index.set(w, Int32Array.from(list));
  return index;
}

/** A CorpusIndex (the type `whp anchors check`'s checks take) that answers from the word index and
 * remembers every answer: the corpus does not change while the review server runs. */
export class IndexedCorpus extends CorpusIndex {
  private readonly words: Map<string, Int32Array>;
  /** The documents with apostrophes and quotes folded (same offsets): a cheap first check. */
  private readonly folded: string[];
  private readonly startsMemo = new Map<string, number[][]>();
  private readonly statsMemo = new Map<string, TermStats>();
  /** Block spans per document, sorted by start; `overlapping` when spans share characters. */
  private readonly spans: [number, number][][] | undefined;
  private readonly overlapping: boolean = false;

  constructor(docs: readonly SourceDocument[], blocks?: readonly BlockSpan[]) {
    super(docs, blocks);
    this.folded = docs.map((d) => foldTypography(d.text));
    this.words = buildWordIndex(docs, this.folded);
    if (blocks) {
      const byDoc = new Map(docs.map((d, i) => [d.id, i]));
      this.spans = docs.map(() => []);
      for (const b of blocks) {
        const i = byDoc.get(b.doc);
        if (i !== undefined) this.spans[i].push(b.span);
      }
      for (const list of this.spans) {
        list.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        for (let k = 1; k < list.length; k++) if (list[k][0] < list[k - 1][1]) this.overlapping = true;
      }
    }
  }

  /** Where `word` occurs as a whole word run: (document index, offset) pairs. */
  wordPositions(word: string): ArrayLike<number> {
    return this.words.get(word) ?? NONE;
  }

  /** Occurrence starts of `term` per document (index = document index), as occurrenceStarts gives them. */
  starts(term: string): number[][] {
    let out = this.startsMemo.get(term);
    if (out) return out;
    const first = firstWord(term);
    if (!first) out = this.docs.map((d) => occurrenceStarts(d.text, term));
    else {
      out = this.docs.map(() => []);
      const list = this.words.get(first.word) ?? NONE;
      const lastEnd = this.docs.map(() => -1);
      const foldedTerm = foldTypography(term);
      for (let k = 0; k < list.length; k += 2) {
        const di = list[k];
        const s = list[k + 1] - first.offset;
        if (s < 0 || s < lastEnd[di] || !isWholeWordAt(this.docs[di].text, this.folded[di], foldedTerm, s)) continue;
        out[di].push(s);
        lastEnd[di] = s + term.length;
      }
    }
    this.startsMemo.set(term, out);
    return out;
  }

  override count(term: string): number {
    return this.starts(term).reduce((n, s) => n + s.length, 0);
  }

  override stats(term: string): TermStats {
    const memo = this.statsMemo.get(term);
    if (memo) return memo;
    const all = this.starts(term);
    const examples: string[] = [];
    let blocks = 0;
    all.forEach((starts, di) => {
      for (const s of starts) if (examples.length < 2) examples.push(context(this.docs[di].text, s, term.length));
      if (this.spans && starts.length) blocks += this.blocksHolding(this.spans[di], starts);
    });
    const stats = { occurrences: all.reduce((n, s) => n + s.length, 0), blocks: this.spans ? blocks : undefined, examples };
    this.statsMemo.set(term, stats);
    return stats;
  }

  /** How many spans hold at least one of the (sorted) starts. */
  private blocksHolding(spans: readonly [number, number][], starts: readonly number[]): number {
    if (this.overlapping) return spans.filter((b) => starts.some((s) => s >= b[0] && s < b[1])).length;
    let n = 0;
    let k = 0;
    for (const [from, to] of spans) {
      while (k < starts.length && starts[k] < from) k++;
      if (k < starts.length && starts[k] < to) n++;
    }
    return n;
  }
}
