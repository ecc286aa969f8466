/**
 * The facts the page shows beside each row: occurrences and blocks in the forget corpus and the flags
 * of `whp anchors check`, computed by the same code (checks, plausibility) so the page and the command
 * never disagree. Pure over in-memory inputs.
 *
 * At book scale (1,600 terms, 6 MB) recounting every term over the whole text after each edit took
 * seconds, so the corpus side is indexed once and kept up to date: counts come from a word index
 * (term-index.ts, remembered: the corpus does not change while the server runs) and the passages the
 * plausibility checks read are rematched only where the term set changed (passages.ts). The statistical
 * checks still run over the whole file on every edit (one candidate can flag another row: a collision,
 * a cross-category reuse; cheap once counting is); the plausibility checks are redone for the rows an
 * edit can affect (plausibility-cache.ts).
 */
import { checkEntries, DEFAULT_CHECKS, FLAG_KINDS, type FlagKind } from "../anchors/checks.js";
import type { BlockSpan } from "../anchors/corpus-stats.js";
import type { NameLexicon } from "../anchors/plausibility.js";
import type { SourceDocument } from "../anchors/sample.js";
import { concordance, DEFAULT_CONCORDANCE, type ConcordanceOptions, type Context } from "./concordance.js";
import { PassageIndex, type PassageChange } from "./passages.js";
import { PlausibilityCache } from "./plausibility-cache.js";
import type { StoredRow } from "./rows.js";
import { IndexedCorpus } from "./term-index.js";

export interface RowView extends StoredRow {
  occurrences: number;
  /** Distinct blocks holding the term; null when the run has no blocks yet. */
  blocks: number | null;
  flags: { kind: FlagKind; message: string }[];
}

export { FLAG_KINDS };

export class Annotator {
  readonly corpus: IndexedCorpus;
  private passages?: PassageIndex;
  private plausibility?: PlausibilityCache;

  constructor(
    private readonly docs: readonly SourceDocument[],
    private readonly blocks: readonly BlockSpan[] | undefined,
    private readonly freq: ReadonlyMap<string, number>,
    /** First names by gender: with them the page also shows the translation plausibility flags. */
    private readonly names?: NameLexicon,
  ) {
    this.corpus = new IndexedCorpus(docs, blocks);
  }

  /** Flags exactly as `whp anchors check` computes them: over the rows not rejected, which are the ones
   * the pipeline would use; a rejected row carries no flags. */
  annotate(rows: readonly StoredRow[]): RowView[] {
    const used = rows.filter((r) => r.status !== "rejected" && r.term);
    const entries = used.map((r) => ({ term: r.term, translations: r.translations, category: r.category, line: r.line }));
    const flags: { line?: number; kind: FlagKind; message: string; suggestions?: string[] }[] = checkEntries(entries, this.corpus, this.freq, DEFAULT_CHECKS);
    if (this.names) {
      const terms = entries.map((e) => e.term);
      let touched: PassageChange[] = [];
      if (this.passages) touched = this.passages.update(terms);
      else this.passages = new PassageIndex(this.docs, terms, (w) => this.corpus.wordPositions(w), this.blocks);
      this.plausibility ??= new PlausibilityCache(this.names, this.freq);
      const index = this.passages;
      flags.push(...this.plausibility.flags(entries, index.passages, touched, (t) => index.passagesWith(t)));
    }
    const byLine = new Map<number, RowView["flags"]>();
    for (const f of flags) {
      const message = f.suggestions?.length ? `${f.message} (better: ${f.suggestions.join(", ")})` : f.message;
      const line = f.line ?? -1;
      const list = byLine.get(line);
      if (list) list.push({ kind: f.kind, message });
      else byLine.set(line, [{ kind: f.kind, message }]);
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
    const starts = this.corpus.starts(term);
    return { translation: chosen, ...concordance(this.docs, term, chosen, dictionary, opts, (_, di) => starts[di]) };
  }
}
