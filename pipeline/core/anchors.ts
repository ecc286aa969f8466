/**
 * Finding anchor terms in text and on token boundaries. Pure: no I/O, no tokenizer calls.
 *
 * Matching is done on the document's characters, then checked against the token offsets: an occurrence
 * counts only when its first token starts at the term (or at whitespace right before it, as with
 * SentencePiece's "\u2581Name" or GPT-2's "\u0120Name") and some token ends exactly where the term ends.
 * This finds every occurrence whose boundaries fall on token boundaries whatever the tokenizer's
 * context-dependent forms are, and lets us report the ones that do not. Apostrophes and quotes match
 * across their typographic variants (see TermMatcher).
 */
import { foldTypography } from "./typography.js";

export interface DictionaryEntry {
  readonly term: string;
  readonly translations: readonly string[];
}

/** A tokenized block: token ids and each token's character span in the document text. Special tokens
 * (BOS) have an empty span (start === end). */
export interface BlockView {
  readonly ids: readonly number[];
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** The whole document's text: spans index into it. */
  readonly text: string;
}

export interface TextMatch {
  readonly term: string;
  readonly start: number;
  readonly end: number;
}

export interface TokenOccurrence extends TextMatch {
  /** First and last token index of the anchor in the block (inclusive). */
  readonly first: number;
  readonly last: number;
  /** Character where the first anchor token starts: equals start, or earlier by the whitespace that
   * the token carries. */
  readonly spanStart: number;
}

export const UNALIGNED_REASONS = ["not-on-token-boundaries", "crosses-block-boundary", "translation-merges-with-context"] as const;
export type UnalignedReason = (typeof UNALIGNED_REASONS)[number];

export interface Unaligned extends TextMatch {
  readonly reason: UnalignedReason;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;
const isWordChar = (ch: string | undefined) => ch !== undefined && WORD_CHAR.test(ch);
const isSpace = (ch: string) => ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\u00a0";

/**
 * Terms grouped by first character, longest first, so the first hit at a position is the longest.
 * Apostrophes and quotes match across typographic variants (core/typography.ts): "King's Cross" finds
 * "King’s Cross". The comparison runs on a folded copy of the text with the same offsets, so matches
 * index the original text, whose characters are never changed. When two terms differ only in their
 * apostrophes, the one written exactly as the text wins.
 */
export class TermMatcher {
  /** Folded first character -> folded terms, longest first; each folded form -> its terms as written. */
  private readonly byFirstChar = new Map<string, string[]>();
  private readonly spellings = new Map<string, string[]>();
  readonly maxLength: number;

  constructor(terms: readonly string[]) {
    let max = 0;
    for (const term of terms) {
      if (term.length === 0) continue;
      const folded = foldTypography(term);
      const written = this.spellings.get(folded);
      if (written) {
        if (!written.includes(term)) written.push(term);
        continue;
      }
      this.spellings.set(folded, [term]);
      const key = folded[0];
      const group = this.byFirstChar.get(key) ?? [];
      group.push(folded);
      this.byFirstChar.set(key, group);
      max = Math.max(max, term.length);
    }
    for (const group of this.byFirstChar.values()) group.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    for (const written of this.spellings.values()) written.sort();
    this.maxLength = max;
  }

  /** Leftmost-longest, non-overlapping matches in text[from, to), on word boundaries. A match may end
   * past `to` (the caller decides what crossing a boundary means). */
  matches(text: string, from: number, to: number): TextMatch[] {
    const out: TextMatch[] = [];
    // Folded window: one character of left context, and room for a match running past `to`.
    const base = Math.max(0, from - 1);
    const folded = foldTypography(text.slice(base, Math.min(text.length, to + this.maxLength + 1)));
    let pos = from;
    while (pos < to) {
      const hit = this.longestAt(folded, pos - base);
      if (hit) {
        const term = this.spelling(hit, text.slice(pos, pos + hit.length));
        out.push({ term, start: pos, end: pos + hit.length });
        pos += hit.length;
      } else {
        pos++;
      }
    }
    return out;
  }

  /** The dictionary's spelling of a folded hit: the one written exactly as the text, else the first. */
  private spelling(folded: string, surface: string): string {
    const written = this.spellings.get(folded) as string[];
    return written.length > 1 && written.includes(surface) ? surface : written[0];
  }

  private longestAt(text: string, pos: number): string | undefined {
    const group = this.byFirstChar.get(text[pos]);
    if (!group) return undefined;
    for (const term of group) {
      if (!text.startsWith(term, pos)) continue;
      if (isWordChar(term[0]) && isWordChar(text[pos - 1])) continue;
      if (isWordChar(term[term.length - 1]) && isWordChar(text[pos + term.length])) continue;
      return term;
    }
    return undefined;
  }
}

/** Per term, how often each written form was matched, for terms matched in a form other than their
 * own spelling ("King's Cross" -> {"King’s Cross": 16}); from the text of each match. */
export function variantCounts(matches: Iterable<{ term: string; surface: string }>): Record<string, Record<string, number>> {
  const by = new Map<string, Map<string, number>>();
  for (const m of matches) {
    const forms = by.get(m.term) ?? new Map<string, number>();
    forms.set(m.surface, (forms.get(m.surface) ?? 0) + 1);
    by.set(m.term, forms);
  }
  const out: Record<string, Record<string, number>> = {};
  for (const term of [...by.keys()].sort()) {
    const forms = by.get(term) as Map<string, number>;
    if ([...forms.keys()].every((f) => f === term)) continue;
    out[term] = Object.fromEntries([...forms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)));
  }
  return out;
}

/** Character range covered by the block's text tokens, or null for a block of only special tokens. */
export function blockCharRange(block: BlockView): { start: number; end: number } | null {
  let start = -1;
  let end = -1;
  for (let i = 0; i < block.ids.length; i++) {
    if (block.ends[i] <= block.starts[i]) continue;
    if (start < 0) start = block.starts[i];
    end = block.ends[i];
  }
  return start < 0 ? null : { start, end };
}

/** Index of the first token whose span ends after `pos` (binary search over the sorted ends). */
function firstTokenEndingAfter(block: BlockView, pos: number): number {
  let lo = 0;
  let hi = block.ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (block.ends[mid] <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Places one text match on the block's tokens, or says why it cannot be. */
export function placeOnTokens(block: BlockView, match: TextMatch): TokenOccurrence | UnalignedReason {
  const n = block.ids.length;
  let first = firstTokenEndingAfter(block, match.start);
  while (first < n && block.ends[first] <= block.starts[first]) first++; // skip special tokens
  if (first >= n) return "crosses-block-boundary";
  const tokStart = block.starts[first];
  if (tokStart > match.start) return "not-on-token-boundaries";
  for (let c = tokStart; c < match.start; c++) if (!isSpace(block.text[c])) return "not-on-token-boundaries";
  let last = first;
  while (last < n && block.ends[last] < match.end) last++;
  if (last >= n) return "crosses-block-boundary";
  if (block.ends[last] !== match.end) return "not-on-token-boundaries";
  return { ...match, first, last, spanStart: tokStart };
}

/** Every dictionary occurrence in the block: placed ones, and the ones that could not be placed. */
export function findOccurrences(block: BlockView, matcher: TermMatcher): { placed: TokenOccurrence[]; unaligned: Unaligned[] } {
  const range = blockCharRange(block);
  const placed: TokenOccurrence[] = [];
  const unaligned: Unaligned[] = [];
  if (!range) return { placed, unaligned };
  for (const match of matcher.matches(block.text, range.start, range.end)) {
    const where = match.end > range.end ? "crosses-block-boundary" : placeOnTokens(block, match);
    if (typeof where === "string") unaligned.push({ ...match, reason: where });
    else placed.push(where);
  }
  return { placed, unaligned };
}

/** The text that decides how a span placed at `spanStart` tokenizes: the previous word and the
 * whitespace after it (or nothing at the document's start). */
export function contextPrefix(text: string, spanStart: number, maxChars = 48): string {
  let k = spanStart;
  while (k > 0 && isSpace(text[k - 1])) k--;
  while (k > 0 && !isSpace(text[k - 1]) && spanStart - k < maxChars) k--;
  return text.slice(k, spanStart);
}
