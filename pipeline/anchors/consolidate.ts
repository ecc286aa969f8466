/**
 * Consolidation, as the method describes it: every answer's pairs -> term -> unique candidates with
 * counts; then splittable terms are dropped ("Harry Potter" when "Harry" and "Potter" are terms, and
 * "Harry's" when "Harry" is). Pure: the stage around it reads the raw answers and the corpus.
 * Spellings that differ only in apostrophes or quotes ("Harry's", "Harry’s") are one term, written the
 * way most answers wrote it (ties: the first in code-point order, so ASCII before typographic); the
 * same holds for the candidates of a term.
 */
import { foldTypography } from "../core/typography.js";
import { DROP_REASONS, type DropReason, type ParsedAnswer } from "./parse.js";

export interface AnswerForConsolidation {
  passageId: string;
  /** Who proposed: "llm:<model>" or "heuristic". */
  source: string;
  parsed: ParsedAnswer;
}

export interface Candidate {
  text: string;
  count: number;
}

export interface ConsolidatedTerm {
  term: string;
  /** The category most answers gave, "other" only if none gave another (ties: alphabetical). */
  category: string;
  /** Most proposed first (ties: first seen), each once. */
  candidates: Candidate[];
  /** How many answers proposed the term. */
  answers: number;
  sources: string[];
}

export interface ConsolidateOptions {
  dropSplittable: boolean;
  dropPossessive: boolean;
}

export interface ConsolidationReport {
  answers: number;
  truncatedAnswers: number;
  pairsKept: number;
  droppedPairs: Record<DropReason, number>;
  splittable: { term: string; parts: string[] }[];
  possessive: { term: string; base: string }[];
  /** Terms proposed in more than one apostrophe/quote spelling, merged into `term`. */
  spellings: { term: string; merged: string[] }[];
}

/** On folded text (core/typography.ts): every apostrophe variant is "'" there. */
const POSSESSIVE = /^(.+?)'s?$/;

/** Words of a multi-word term; hyphens and "of"-style joiners stay inside words. */
export const termWords = (term: string): string[] => term.split(/\s+/).filter(Boolean);

/** Spellings, most written first (ties: code-point order, so ASCII before typographic). */
const rankSpellings = (forms: ReadonlyMap<string, number>) => [...forms].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([w]) => w);
const mostWritten = (forms: ReadonlyMap<string, number>) => rankSpellings(forms)[0];

export function consolidate(answers: readonly AnswerForConsolidation[], opts: ConsolidateOptions): { terms: ConsolidatedTerm[]; report: ConsolidationReport } {
  // Keyed by the folded term; `spellings` counts how each answer wrote it.
  const byTerm = new Map<string, { spellings: Map<string, number>; candidates: Map<string, Map<string, number>>; categories: Map<string, number>; answers: number; sources: Set<string> }>();
  const droppedPairs = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
  let pairsKept = 0;
  let truncatedAnswers = 0;
  // Reading order is fixed (passage id, then source) so candidate order does not depend on the order
  // in which concurrent calls happened to finish.
  const ordered = [...answers].sort((a, b) => (a.passageId < b.passageId ? -1 : a.passageId > b.passageId ? 1 : a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  for (const a of ordered) {
    if (a.parsed.truncated) truncatedAnswers++;
    for (const d of a.parsed.dropped) droppedPairs[d.reason]++;
    const seenHere = new Set<string>();
    for (const p of a.parsed.proposals) {
      pairsKept++;
      const key = foldTypography(p.term);
      let t = byTerm.get(key);
      if (!t) byTerm.set(key, (t = { spellings: new Map(), candidates: new Map(), categories: new Map(), answers: 0, sources: new Set() }));
      t.spellings.set(p.term, (t.spellings.get(p.term) ?? 0) + 1);
      if (!seenHere.has(key)) {
        t.answers++;
        seenHere.add(key);
      }
      t.sources.add(a.source);
      t.categories.set(p.category, (t.categories.get(p.category) ?? 0) + 1);
      // Candidates too are one per folded spelling: the translate stage writes them in the corpus's style anyway.
      for (const c of p.translations) {
        const forms = t.candidates.get(foldTypography(c)) ?? new Map<string, number>();
        forms.set(c, (forms.get(c) ?? 0) + 1);
        t.candidates.set(foldTypography(c), forms);
      }
    }
  }
  const all = new Set(byTerm.keys());
  const splittable: ConsolidationReport["splittable"] = [];
  const possessive: ConsolidationReport["possessive"] = [];
  const spellings: ConsolidationReport["spellings"] = [];
  const terms: ConsolidatedTerm[] = [];
  const written = new Map<string, string>();
  for (const [key, t] of byTerm) {
    const ranked = rankSpellings(t.spellings);
    written.set(key, ranked[0]);
    if (ranked.length > 1) spellings.push({ term: ranked[0], merged: ranked.slice(1) });
  }
  for (const [key, t] of byTerm) {
    const term = written.get(key) as string;
    const words = termWords(key);
    if (opts.dropSplittable && words.length > 1 && words.every((w) => all.has(w))) {
      splittable.push({ term, parts: words.map((w) => written.get(w) as string) });
      continue;
    }
    const m = POSSESSIVE.exec(key);
    if (opts.dropPossessive && m && all.has(m[1]) && m[1] !== key) {
      possessive.push({ term, base: written.get(m[1]) as string });
      continue;
    }
    const candidates = [...t.candidates.values()].map((forms) => ({ text: mostWritten(forms), count: [...forms.values()].reduce((a, b) => a + b, 0) })).sort((a, b) => b.count - a.count);
    // "other" is what untyped answers get (a plain term -> translation map): any real category wins.
    const typed = [...t.categories].filter(([c]) => c !== "other");
    const category = typed.length ? typed.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0] : "other";
    terms.push({ term, category, candidates, answers: t.answers, sources: [...t.sources].sort() });
  }
  terms.sort((a, b) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0));
  const byName = (a: { term: string }, b: { term: string }) => (a.term < b.term ? -1 : 1);
  return { terms, report: { answers: answers.length, truncatedAnswers, pairsKept, droppedPairs, splittable: splittable.sort(byName), possessive: possessive.sort(byName), spellings: spellings.sort(byName) } };
}
