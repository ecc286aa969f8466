/**
 * The facts the page shows beside each row: occurrences and blocks in the forget corpus and the flags
 * of `whp anchors check`, computed by the same code (corpus-stats, checks, plausibility) so the page and the
 * command never disagree. Pure over in-memory inputs; counts are memoised because the corpus does not
 * change while the server runs, and every edit re-annotates the whole file (one candidate can flag
 * another row: a collision, a cross-category reuse).
 */
import { checkEntries, DEFAULT_CHECKS, FLAG_KINDS, type FlagKind } from "../anchors/checks.js";
import { CorpusIndex, type BlockSpan, type TermStats } from "../anchors/corpus-stats.js";
import { buildPassages, checkPlausibility, type NameLexicon } from "../anchors/plausibility.js";
import type { SourceDocument } from "../anchors/sample.js";
import { concordance, DEFAULT_CONCORDANCE, type ConcordanceOptions, type Context } from "./concordance.js";
import type { StoredRow } from "./rows.js";

export interface RowView extends StoredRow {
  occurrences: number;
  /** Distinct blocks holding the term; null when the run has no blocks yet. */
  blocks: number | null;
  flags: { kind: FlagKind; message: string }[];
}

/** A CorpusIndex that remembers every count and stats it computed (the corpus is fixed). */
class MemoCorpus extends CorpusIndex {
  private readonly counts = new Map<string, number>();
  private readonly statsMemo = new Map<string, TermStats>();

  override count(term: string): number {
    let n = this.counts.get(term);
    if (n === undefined) this.counts.set(term, (n = super.count(term)));
    return n;
  }

  override stats(term: string): TermStats {
    let s = this.statsMemo.get(term);
    if (s === undefined) this.statsMemo.set(term, (s = super.stats(term)));
    return s;
  }
}

export { FLAG_KINDS };

export class Annotator {
  private readonly corpus: MemoCorpus;

  constructor(
    private readonly docs: readonly SourceDocument[],
    private readonly blocks: readonly BlockSpan[] | undefined,
    private readonly freq: ReadonlyMap<string, number>,
    /** First names by gender: with them the page also shows the translation plausibility flags. */
    private readonly names?: NameLexicon,
  ) {
    this.corpus = new MemoCorpus(docs, blocks);
  }

  /** Flags exactly as `whp anchors check` computes them: over the rows not rejected, which are the ones
   * the pipeline would use; a rejected row carries no flags. */
  annotate(rows: readonly StoredRow[]): RowView[] {
    const used = rows.filter((r) => r.status !== "rejected" && r.term);
    const entries = used.map((r) => ({ term: r.term, translations: r.translations, category: r.category, line: r.line }));
    const flags: { line?: number; kind: FlagKind; message: string; suggestions?: string[] }[] = checkEntries(entries, this.corpus, this.freq, DEFAULT_CHECKS);
    if (this.names) {
      const passages = buildPassages(this.docs, entries.map((e) => e.term), this.blocks);
      flags.push(...checkPlausibility(entries, passages, this.names, this.freq));
    }
    const byLine = new Map<number, RowView["flags"]>();
    for (const f of flags) {
      const message = f.suggestions?.length ? `${f.message} (better: ${f.suggestions.join(", ")})` : f.message;
      byLine.set(f.line ?? -1, [...(byLine.get(f.line ?? -1) ?? []), { kind: f.kind, message }]);
    }
    return rows.map((r) => {
      const s = r.term ? this.corpus.stats(r.term) : { occurrences: 0, blocks: undefined };
      return { ...r, occurrences: s.occurrences, blocks: s.blocks ?? null, flags: r.status === "rejected" ? [] : (byLine.get(r.line) ?? []) };
    });
  }

  /** Contexts of `term`, rewritten with `translation` (default: its first candidate) and every other
   * non-rejected row's first candidate. */
  concordance(rows: readonly StoredRow[], term: string, translation?: string, opts: ConcordanceOptions = DEFAULT_CONCORDANCE): { total: number; translation: string; contexts: Context[] } {
    const dictionary = new Map(rows.filter((r) => r.status !== "rejected" && r.term && r.translations.length).map((r) => [r.term, r.translations[0]]));
    const own = rows.find((r) => r.term === term);
    const chosen = translation ?? own?.translations[0] ?? term;
    return { translation: chosen, ...concordance(this.docs, term, chosen, dictionary, opts) };
  }
}
