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
import type { NameLexicon, PlausibilityFlag } from "../anchors/plausibility.js";
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
  private readonly rendered = new WeakMap<readonly PlausibilityFlag[], RowView["flags"]>();

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
      this.plausibility.refresh(entries, index.passages, touched, { passagesWith: (t) => index.passagesWith(t), passagesWithWord: (w) => index.passagesWithWord(w) });
    }
    const plausibility = this.plausibility;
    const byLine = new Map<number, RowView["flags"]>();
    const add = (line: number | undefined, view: RowView["flags"][number]) => {
      const list = byLine.get(line ?? -1);
      if (list) list.push(view);
      else byLine.set(line ?? -1, [view]);
    };
    const render = (f: { kind: FlagKind; message: string; suggestions?: string[] }) => ({ kind: f.kind, message: f.suggestions?.length ? `${f.message} (better: ${f.suggestions.join(", ")})` : f.message });
    for (const f of flags) add(f.line, render(f));
    // A main character's generic candidates give it hundreds of shared-translation flags, kept by the
    // cache between edits: a row's are rendered once, when they change, not on every edit.
    const plausibleViews = (line: number): RowView["flags"] => {
      const own = this.names && plausibility ? plausibility.rowFlags(line) : [];
      if (own.length === 0) return [];
      let views = this.rendered.get(own);
      if (!views) this.rendered.set(own, (views = own.map(render)));
      return views;
    };
    return rows.map((r) => {
      const s = r.term ? this.corpus.stats(r.term) : { occurrences: 0, blocks: undefined };
      if (r.status === "rejected") return { ...r, occurrences: s.occurrences, blocks: s.blocks ?? null, flags: [] };
      const checks = byLine.get(r.line);
      const plausible = plausibleViews(r.line);
      return { ...r, occurrences: s.occurrences, blocks: s.blocks ?? null, flags: checks && plausible.length ? [...checks, ...plausible] : (checks ?? plausible) };
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
