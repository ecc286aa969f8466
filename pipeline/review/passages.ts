/**
 * The plausibility checks' passages (anchors/plausibility.ts buildPassages: which terms each block or
 * window holds, matched leftmost-longest like the translate stage), kept up to date as the reviewer
 * rejects, restores or adds terms, instead of rematching the whole corpus after every edit. Pure.
 *
 * Why a local rematch is exact: the leftmost-longest scan (core/anchors' TermMatcher) decides at each
 * position it visits; two term sets give different decisions only where a term of their difference
 * matches. So the scan is redone from each such place that the current scan visits, with the new
 * matcher, until it reaches a position the previous scan also visited: from there on both scans are
 * the same up to the next such place. The places come from the word index (term-index.ts): every
 * match of a term starts where its first word occurs.
 */
import { TermMatcher, type TextMatch } from "../core/anchors.js";
import { buildPassages, firstAtOrAfter, type Passage } from "../anchors/plausibility.js";
import type { SourceDocument } from "../anchors/sample.js";
import { firstWord } from "./term-index.js";

export interface PassageChange {
  delta: ReadonlySet<string>;
  union: ReadonlySet<string>;
}

interface MutablePassage {
  terms: Set<string>;
  words: ReadonlySet<string>;
}

export class PassageIndex {
  private terms: Set<string>;
  private matcher: TermMatcher;
  /** Per document: the leftmost-longest matches of the current terms, sorted by start. */
  private matches: TextMatch[][];
  /** Per document: its passages' spans, and the passages themselves (in buildPassages' order). */
  private readonly spans: [number, number][][];
  private readonly byDoc: MutablePassage[][];
  readonly passages: Passage[];
  /** Term -> the passages holding it, kept with the passages (the plausibility checks read it). */
  private readonly withTerm = new Map<string, Set<Passage>>();
  private readonly listed = new Map<string, Passage[]>();
  private readonly withWord = new Map<string, Passage[]>();

  constructor(
    private readonly docs: readonly SourceDocument[],
    terms: readonly string[],
    /** Where a term may start: its first word's positions as (document index, offset) pairs (term-index.ts). */
    private readonly wordPositions: (word: string) => ArrayLike<number>,
    blocks?: readonly { doc: string; span: [number, number] }[],
    window = 2000,
  ) {
    this.terms = new Set(terms);
    this.matcher = new TermMatcher([...this.terms]);
    // The passages themselves (their words, their first term sets) come from the shared code.
    this.passages = buildPassages(docs, [...this.terms], blocks, window);
    this.matches = docs.map((d) => this.matcher.matches(d.text, 0, d.text.length));
    this.spans = docs.map((d) =>
      blocks ? blocks.filter((b) => b.doc === d.id).map((b) => b.span) : Array.from({ length: Math.ceil(d.text.length / window) }, (_, i): [number, number] => [i * window, Math.min(d.text.length, (i + 1) * window)]),
    );
    let k = 0;
    this.byDoc = this.spans.map((list) => list.map(() => this.passages[k++] as MutablePassage));
    for (const p of this.passages) for (const t of p.terms) this.holding(t).add(p);
  }

  private holding(term: string): Set<Passage> {
    return this.withTerm.get(term) ?? this.withTerm.set(term, new Set()).get(term)!;
  }

  /** The passages where `word` occurs in lower case (found once: the words never change). */
  passagesWithWord(word: string): readonly Passage[] {
    let list = this.withWord.get(word);
    if (!list) this.withWord.set(word, (list = this.passages.filter((p) => p.words.has(word))));
    return list;
  }

  /** The passages holding `term` now, in no particular order (the same array until they change). */
  passagesWith(term: string): readonly Passage[] {
    let list = this.listed.get(term);
    if (!list) this.listed.set(term, (list = [...(this.withTerm.get(term) ?? [])]));
    return list;
  }

  /** The current leftmost-longest matches of document `doc` (for tests: they must equal a full scan). */
  matchesIn(doc: number): readonly TextMatch[] {
    return this.matches[doc];
  }

  /** Brings the passages to this term set; returns each passage that changed, as the terms that came
   * or went (`delta`) and every term it held before or after (`union`). */
  update(terms: readonly string[]): PassageChange[] {
    const next = new Set(terms);
    const changed = [...next].filter((t) => !this.terms.has(t));
    for (const t of this.terms) if (!next.has(t)) changed.push(t);
    const touched: PassageChange[] = [];
    if (changed.length === 0) return touched;
    const removed = new Set(changed.filter((t) => !next.has(t)));
    this.terms = next;
    this.matcher = new TermMatcher([...next]);
    const seeds = this.seeds(changed, removed);
    this.docs.forEach((d, di) => {
      if (seeds === undefined) {
        this.matches[di] = this.matcher.matches(d.text, 0, d.text.length);
        this.refreshPassages(di, touched);
      } else if (seeds[di].length) {
        const moved = this.rematch(di, [...new Set(seeds[di])].sort((a, b) => a - b));
        if (moved.length) this.refreshPassages(di, touched, moved);
      }
    });
    return touched;
  }

  /** Per document, the positions where the scan may decide differently; undefined: rematch every
   * document (a term without any word character cannot be looked up). */
  private seeds(changed: readonly string[], removed: ReadonlySet<string>): number[][] | undefined {
    const out: number[][] = this.docs.map(() => []);
    this.matches.forEach((list, di) => {
      for (const m of list) if (removed.has(m.term)) out[di].push(m.start);
    });
    for (const t of changed) {
      if (removed.has(t)) continue;
      const first = firstWord(t);
      if (!first) return undefined;
      const at = this.wordPositions(first.word);
      for (let k = 0; k < at.length; k += 2) if (at[k + 1] >= first.offset) out[at[k]].push(at[k + 1] - first.offset);
    }
    return out;
  }

  /** Redoes the scan from each seed the scan visits until it is back in step; returns the starts of
   * the matches that came or went (sorted; empty when nothing changed). */
  private rematch(di: number, seeds: readonly number[]): number[] {
    const text = this.docs[di].text;
    const old = this.matches[di];
    const out: TextMatch[] = [];
    let i = 0; // next old match to copy
    const moved: number[] = [];
    let done = 0; // the new scan is known up to here
    for (const p of seeds) {
      if (p < done) continue;
      // Copy the old matches before p; a seed inside a match (of the new scan) is not visited.
      while (i < old.length && old[i].start < p) out.push(old[i++]);
      const last = out.at(-1);
      if (last && last.end > p) continue;
      // Rescan from p until a position the old scan also visits (no old match straddles it).
      let pos = p;
      let j = i;
      const fresh: TextMatch[] = [];
      do {
        const hit = this.matcher.matches(text, pos, pos + 1)[0];
        if (hit) {
          fresh.push(hit);
          pos = hit.end;
        } else pos++;
        while (j < old.length && old[j].end <= pos) j++;
      } while (pos < text.length && j < old.length && old[j].start < pos);
      const replaced = old.slice(i, j);
      if (replaced.length !== fresh.length || replaced.some((m, k) => m.term !== fresh[k].term || m.start !== fresh[k].start)) {
        for (const m of [...replaced, ...fresh]) moved.push(m.start);
      }
      out.push(...fresh);
      i = j;
      done = pos;
    }
    while (i < old.length) out.push(old[i++]);
    this.matches[di] = out;
    return moved.sort((a, b) => a - b);
  }

  /** Recomputes the term sets of the passages of document `di` (only those holding one of `moved`,
   * the starts of matches that came or went, when given: the others hold the same matches). */
  private refreshPassages(di: number, touched: PassageChange[], moved?: readonly number[]): void {
    const matches = this.matches[di];
    const starts = moved?.map((s) => ({ start: s }));
    this.spans[di].forEach(([start, end], k) => {
      if (moved && starts) {
        const at = firstAtOrAfter(starts, start);
        if (at >= moved.length || moved[at] >= end) return;
      }
      const terms = new Set<string>();
      for (let i = firstAtOrAfter(matches, start); i < matches.length && matches[i].start < end; i++) terms.add(matches[i].term);
      const passage = this.byDoc[di][k];
      const delta = new Set([...terms].filter((t) => !passage.terms.has(t)));
      for (const t of passage.terms) if (!terms.has(t)) delta.add(t);
      if (delta.size === 0) return;
      touched.push({ delta, union: new Set([...passage.terms, ...terms]) });
      for (const t of delta) {
        this.listed.delete(t);
        if (terms.has(t)) this.holding(t).add(passage);
        else this.withTerm.get(t)?.delete(passage);
      }
      passage.terms = terms;
    });
  }
}
