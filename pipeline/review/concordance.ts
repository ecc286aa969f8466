/**
 * The concordance the reviewer reads: each occurrence of a term in the forget corpus, in a window of
 * text around it, shown twice: as written (the term marked) and as the pipeline would rewrite it
 * (every dictionary term replaced, the chosen translation marked), so a bad translation ("my name is
 * John" for "Harry") shows as text that no longer reads naturally. Pure.
 *
 * Matching follows the pipeline: the term itself whole-word and case-sensitive (corpus-stats), the
 * rewrite leftmost-longest over all terms (core/anchors' TermMatcher), so "Tamsin" inside "Tamsin
 * Quillfeather" shows the full name's translation, exactly as training data would have it.
 */
import { TermMatcher } from "../core/anchors.js";
import { occurrenceStarts } from "../anchors/corpus-stats.js";
import type { SourceDocument } from "../anchors/sample.js";

export interface Segment {
  text: string;
  /** "term": the term (or its translation); "other": another dictionary term (or its translation). */
  mark?: "term" | "other";
}

export interface Context {
  doc: string;
  /** Character offset of the occurrence in the document. */
  offset: number;
  original: Segment[];
  substituted: Segment[];
  clippedStart: boolean;
  clippedEnd: boolean;
}

export interface ConcordanceOptions {
  /** Characters of context on each side (widened to whole words). */
  around: number;
  /** At most this many contexts (the first ones in corpus order); `total` says how many exist. */
  limit: number;
}

export const DEFAULT_CONCORDANCE: ConcordanceOptions = { around: 90, limit: 30 };

const collapse = (s: string) => s.replace(/\s+/g, " ");

/** Widens [from, to) to word boundaries so no word is cut in half. */
function window(text: string, start: number, end: number, around: number): [number, number] {
  let from = Math.max(0, start - around);
  let to = Math.min(text.length, end + around);
  while (from > 0 && /\S/.test(text[from - 1]) && start - from < around + 30) from--;
  while (to < text.length && /\S/.test(text[to]) && to - end < around + 30) to++;
  return [from, to];
}

/** Splits text into plain and marked segments at the given ranges (sorted, non-overlapping). */
function segments(text: string, ranges: readonly { start: number; end: number; replace: string; mark: "term" | "other" }[]): Segment[] {
  const out: Segment[] = [];
  let pos = 0;
  for (const r of ranges) {
    if (r.start > pos) out.push({ text: collapse(text.slice(pos, r.start)) });
    out.push({ text: r.replace, mark: r.mark });
    pos = r.end;
  }
  if (pos < text.length) out.push({ text: collapse(text.slice(pos)) });
  return out;
}

/**
 * @param term the term whose contexts are wanted
 * @param translation what the term becomes in the rewritten text (the reviewer's chosen candidate)
 * @param dictionary the other terms and the translation each would get (rejected rows left out)
 */
export function concordance(
  docs: readonly SourceDocument[],
  term: string,
  translation: string,
  dictionary: ReadonlyMap<string, string>,
  opts: ConcordanceOptions = DEFAULT_CONCORDANCE,
  /** The term's occurrence starts in document `i` (default: a scan; the server passes its index's). */
  startsIn: (doc: SourceDocument, i: number) => readonly number[] = (d) => occurrenceStarts(d.text, term),
): { total: number; contexts: Context[] } {
  const rewrite = new Map(dictionary);
  rewrite.set(term, translation);
  const matcher = new TermMatcher([...rewrite.keys()]);
  const contexts: Context[] = [];
  let total = 0;
  for (const [i, d] of docs.entries()) {
    for (const start of startsIn(d, i)) {
      total++;
      if (contexts.length >= opts.limit) continue;
      const [from, to] = window(d.text, start, start + term.length, opts.around);
      const slice = d.text.slice(from, to);
      const own = occurrenceStarts(slice, term).map((s) => ({ start: s, end: s + term.length, replace: term, mark: "term" as const }));
      const all = matcher.matches(slice, 0, slice.length).filter((m) => m.end <= slice.length);
      const rewritten = all.map((m) => ({ start: m.start, end: m.end, replace: rewrite.get(m.term) ?? m.term, mark: m.term === term ? ("term" as const) : ("other" as const) }));
      contexts.push({ doc: d.id, offset: start, original: segments(slice, own), substituted: segments(slice, rewritten), clippedStart: from > 0, clippedEnd: to < d.text.length });
    }
  }
  return { total, contexts };
}
