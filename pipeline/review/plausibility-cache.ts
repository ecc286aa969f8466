/**
 * The translation plausibility flags (anchors/plausibility.ts) of a dictionary under edit, recomputed
 * only for the rows an edit can change. Pure. The flags of a row depend on the row itself, the passages
 * holding its term, and the other rows that share one of its candidates (the shared-translation check);
 * nothing else, and another row matters only when the two terms meet in a passage. So after an edit
 * the rows to redo are: rows that changed or were added; rows sharing a candidate (before or after)
 * with those, or with a row that is gone, whose terms meet theirs; for each passage whose term set
 * changed (passages.ts says which), the rows whose term came or went, and the rows in that passage
 * sharing a candidate with those. checkPlausibility itself computes the flags of those rows only
 * (its `only` scope), with every row as their partner so that their view of who shares what is whole,
 * reading the passages of a term from the passage index instead of grouping every passage per call.
 */
import { checkPlausibility, DEFAULT_PLAUSIBILITY, type NameLexicon, type Passage, type PlausibilityEntry, type PlausibilityFlag, type PlausibilityScope } from "../anchors/plausibility.js";
import type { PassageChange } from "./passages.js";

/** Rows are keyed by their line: unique in a file, and a term can be in a file twice by hand. */
interface Cached {
  term: string;
  sig: string;
  candidates: string[];
  flags: PlausibilityFlag[];
}

type Entry = PlausibilityEntry & { line: number };

/** The candidate as checkPlausibility compares candidates across rows. */
const key = (c: string) => c.trim().toLowerCase();
const candidatesOf = (e: Entry) => [...new Set(e.translations.map(key))];
const signature = (e: Entry) => JSON.stringify([e.term, e.translations, e.category]);

export class PlausibilityCache {
  private cache = new Map<number, Cached>();

  constructor(
    private readonly names: NameLexicon,
    private readonly freq: ReadonlyMap<string, number>,
  ) {}

  /** The flags of every entry, in entry order, as checkPlausibility(entries, passages) gives them.
   * @param changes the passages whose term sets changed since the last call */
  flags(entries: readonly Entry[], passages: readonly Passage[], changes: readonly PassageChange[], index?: Pick<PlausibilityScope, "passagesWith" | "passagesWithWord">): PlausibilityFlag[] {
    this.refresh(entries, passages, changes, index);
    return entries.flatMap((e) => this.rowFlags(e.line));
  }

  /** The flags of the row on `line` as of the last refresh: the same array until they change. */
  rowFlags(line: number): readonly PlausibilityFlag[] {
    return this.cache.get(line)?.flags ?? [];
  }

  /** Brings the cache to these entries (what flags() does, without listing the flags). */
  refresh(entries: readonly Entry[], passages: readonly Passage[], changes: readonly PassageChange[], index?: Pick<PlausibilityScope, "passagesWith" | "passagesWithWord">): void {
    const passagesWith = index?.passagesWith;
    const byCandidate = new Map<string, Entry[]>();
    for (const e of entries) for (const c of candidatesOf(e)) (byCandidate.get(c) ?? byCandidate.set(c, []).get(c)!).push(e);
    const dirty = new Set<number>();
    /** Rows sharing one of `cands` whose term is in `near`: the only ones whose shared-translation
     * flags can mention the row with those candidates. */
    const partnersIn = (cands: readonly string[], near: ReadonlySet<string>) => {
      for (const c of cands) for (const p of byCandidate.get(c) ?? []) if (near.has(p.term)) dirty.add(p.line);
    };
    /** Terms that share a passage with `term` now. */
    const together = (term: string) => {
      const out = new Set<string>();
      for (const p of passagesWith ? passagesWith(term) : passages) if (p.terms.has(term)) for (const t of p.terms) out.add(t);
      return out;
    };
    const present = new Set(entries.map((e) => e.line));
    // Candidates of each term, now and before the edit (a rejected row is only in the cache).
    const candidatesByTerm = new Map<string, Set<string>>();
    const addCandidates = (term: string, cands: readonly string[]) => {
      const set = candidatesByTerm.get(term) ?? candidatesByTerm.set(term, new Set()).get(term)!;
      for (const c of cands) set.add(c);
    };
    for (const e of entries) addCandidates(e.term, candidatesOf(e));
    for (const old of this.cache.values()) addCandidates(old.term, old.candidates);

    for (const e of entries) {
      const old = this.cache.get(e.line);
      if (old?.sig === signature(e)) continue;
      dirty.add(e.line);
      const near = together(e.term);
      partnersIn(candidatesOf(e), near);
      if (old) partnersIn(old.candidates, near);
    }
    for (const [line, old] of this.cache) {
      if (present.has(line)) continue;
      // Its term left the passages too (a change below), unless another row keeps the term.
      partnersIn(old.candidates, together(old.term));
      this.cache.delete(line);
    }
    const byTerm = new Map<string, Entry[]>();
    for (const e of entries) (byTerm.get(e.term) ?? byTerm.set(e.term, []).get(e.term)!).push(e);
    for (const { delta, union } of changes) {
      for (const t of delta) {
        for (const e of byTerm.get(t) ?? []) dirty.add(e.line);
        partnersIn([...(candidatesByTerm.get(t) ?? [])], union);
      }
    }
    if (dirty.size) {
      // Only the dirty rows' flags are computed; every row stays a partner of theirs.
      const fresh = new Map<number, PlausibilityFlag[]>();
      const only = (e: PlausibilityEntry) => dirty.has(e.line ?? -1);
      for (const f of checkPlausibility(entries, passages, this.names, this.freq, DEFAULT_PLAUSIBILITY, { ...index, only, byCandidate })) {
        const line = f.line ?? -1;
        (fresh.get(line) ?? fresh.set(line, []).get(line)!).push(f);
      }
      for (const e of entries) if (dirty.has(e.line)) this.cache.set(e.line, { term: e.term, sig: signature(e), candidates: candidatesOf(e), flags: fresh.get(e.line) ?? [] });
    }
  }
}
