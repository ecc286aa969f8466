/**
 * "Neighbour" retain texts: general-corpus blocks that share the most vocabulary with the forget
 * corpus. They are close in topic (the same kind of words: the sea, weirs, letters, oaths...) but are
 * not forget text, so a model that unlearned well should keep its perplexity on them; a damaged one
 * loses it here first. Chosen deterministically (no seed: ranked by score, ties by id). Pure.
 *
 * Honest limit: this is lexical closeness only ("shares distinctive words"), not a judgement of topic;
 * the evaluation set records the mean overlap of the chosen blocks next to that of the random retain
 * texts so a reader can see how much closer they really are.
 */

/** Lower-case words of three letters or more (apostrophes inside a word kept). */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z]+(?:'[a-z]+)*/g)?.filter((w) => w.length >= 3) ?? [];
}

export interface NeighbourOptions {
  /** How many blocks to pick. */
  count: number;
  /** A word is distinctive when its rate in the forget corpus is at least this many times its rate in
   * the general corpus (add-one smoothed)... */
  minRatio: number;
  /** ...and it occurs at least this often in the forget corpus (so one-off words do not count). */
  minCount: number;
}

export const NEIGHBOUR_DEFAULTS: Omit<NeighbourOptions, "count"> = { minRatio: 2, minCount: 3 };

/** The forget corpus's distinctive vocabulary: words much more frequent there than in general text. */
export function distinctiveVocabulary(forgetTexts: readonly string[], generalTexts: readonly string[], opts: Omit<NeighbourOptions, "count">): Set<string> {
  const count = (texts: readonly string[]) => {
    const m = new Map<string, number>();
    let total = 0;
    for (const t of texts) for (const w of words(t)) (m.set(w, (m.get(w) ?? 0) + 1), total++);
    return { m, total: Math.max(1, total) };
  };
  const f = count(forgetTexts);
  const g = count(generalTexts);
  const out = new Set<string>();
  for (const [w, c] of f.m) {
    if (c < opts.minCount) continue;
    if ((c + 1) / f.total >= (opts.minRatio * ((g.m.get(w) ?? 0) + 1)) / g.total) out.add(w);
  }
  return out;
}

/** Share of a text's words that are in the vocabulary (0 for a text without words). */
export function vocabularyShare(text: string, vocab: ReadonlySet<string>): number {
  const ws = words(text);
  return ws.length ? ws.filter((w) => vocab.has(w)).length / ws.length : 0;
}

export interface NeighbourPick {
  ids: string[];
  /** Mean vocabularyShare of the picked blocks, and of the blocks they were picked from. */
  meanShare: number;
  candidateMeanShare: number;
  vocabulary: number;
}

/**
 * The `count` candidates with the highest share of distinctive forget vocabulary (ties: smaller id),
 * returned sorted by id. `general` is the whole general corpus (for word rates); `candidates` the ids
 * that may be picked (the caller leaves out the blocks already held out as random retain texts).
 */
export function pickNeighbours(
  forgetTexts: readonly string[],
  general: readonly { id: string; text: string }[],
  candidates: ReadonlySet<string>,
  opts: NeighbourOptions,
): NeighbourPick {
  const vocab = distinctiveVocabulary(
    forgetTexts,
    general.map((g) => g.text),
    opts,
  );
  const scored = general.filter((g) => candidates.has(g.id)).map((g) => ({ id: g.id, share: vocabularyShare(g.text, vocab) }));
  const mean = (xs: readonly { share: number }[]) => (xs.length ? xs.reduce((s, x) => s + x.share, 0) / xs.length : 0);
  const chosen = [...scored].sort((a, b) => b.share - a.share || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, Math.max(0, opts.count));
  return { ids: chosen.map((c) => c.id).sort(), meanShare: mean(chosen), candidateMeanShare: mean(scored), vocabulary: vocab.size };
}
