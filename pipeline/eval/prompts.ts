/**
 * The evaluation prompt set, mined deterministically from a run's own artifacts. Pure: inputs are the
 * parsed blocks and alignments, outputs the rows `whp evalset` writes.
 *
 * - Probability prompts: the few tokens right before an anchor occurrence, tagged with the anchor's
 *   first token (the forget-specific next token). Occurrences whose translation starts with the same
 *   token are skipped: that token is not specific to the forget set.
 * - Retain texts: a seeded slice of the general-corpus blocks, held out from every evaluated model
 *   (the embedded models otherwise read the whole general corpus, and perplexity on training text would
 *   measure memorisation, not utility).
 * - Forget positions: a seeded sample of (block, position) pairs for the restoration KL.
 */
import { deriveSeed, seededRandom } from "../core/hash.js";
import type { AlignedBlock } from "../schemas/aligned.js";

export interface TokenBlock {
  id: string;
  input_ids: readonly number[];
}

export interface ProbabilityPrompt {
  id: string;
  /** Block and position of the (first) anchor occurrence the context precedes. */
  block: string;
  position: number;
  context_ids: number[];
  /** Forget-specific next tokens: the first token of each anchor seen after this context. */
  tagged: number[];
  terms: string[];
}

export interface MineStats {
  occurrences: number;
  /** Occurrences at the block start (no context to prompt with). */
  atBlockStart: number;
  /** Occurrences whose first token is also the translation's first token. */
  sharedFirstToken: number;
  /** Occurrences whose context was already mined (their tags were merged). */
  duplicateContexts: number;
  candidates: number;
  sampled: number;
}

export function mineProbabilityPrompts(
  blocks: readonly TokenBlock[],
  aligned: readonly AlignedBlock[],
  opts: { contextTokens: number; size: number; seed: number },
): { prompts: ProbabilityPrompt[]; stats: MineStats } {
  const stats: MineStats = { occurrences: 0, atBlockStart: 0, sharedFirstToken: 0, duplicateContexts: 0, candidates: 0, sampled: 0 };
  const byContext = new Map<string, ProbabilityPrompt>();
  blocks.forEach((block, b) => {
    const al = aligned[b];
    if (!al || al.id !== block.id) throw new RangeError(`aligned row ${b} is ${al?.id ?? "missing"}, expected ${block.id}`);
    for (const occ of al.occurrences) {
      stats.occurrences++;
      if (occ.first < 1) {
        stats.atBlockStart++;
        continue;
      }
      const next = block.input_ids[occ.first];
      if (al.translated_ids[occ.translatedFirst] === next) {
        stats.sharedFirstToken++;
        continue;
      }
      const context = block.input_ids.slice(Math.max(0, occ.first - opts.contextTokens), occ.first);
      const key = context.join(",");
      const seen = byContext.get(key);
      if (seen) {
        stats.duplicateContexts++;
        if (!seen.tagged.includes(next)) seen.tagged.push(next);
        if (!seen.terms.includes(occ.term)) seen.terms.push(occ.term);
        continue;
      }
      byContext.set(key, { id: "", block: block.id, position: occ.first, context_ids: [...context], tagged: [next], terms: [occ.term] });
    }
  });
  const all = [...byContext.values()];
  stats.candidates = all.length;
  const chosen = seededSample(all, opts.size, deriveSeed(opts.seed, "eval:probability"));
  stats.sampled = chosen.length;
  chosen.forEach((p, i) => {
    p.id = `p${String(i).padStart(4, "0")}`;
    p.tagged.sort((x, y) => x - y);
  });
  return { prompts: chosen, stats };
}

/** k items drawn without replacement (partial Fisher-Yates), returned in their original order. */
export function seededSample<T>(items: readonly T[], k: number, seed: number): T[] {
  const rand = seededRandom(seed);
  const idx = items.map((_, i) => i);
  const n = Math.min(k, idx.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (idx.length - i));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx
    .slice(0, n)
    .sort((a, b) => a - b)
    .map((i) => items[i]);
}

/** Ids of the general blocks held out for retain perplexity: the ceil(fraction * n) blocks with the
 * smallest seeded hash of their id, so the choice does not depend on file order. At least one. */
export function holdOutGeneral(ids: readonly string[], fraction: number, seed: number): string[] {
  if (ids.length === 0) return [];
  const k = Math.max(1, Math.ceil(fraction * ids.length));
  return ids
    .map((id) => ({ id, h: deriveSeed(seed, "eval:retain", id) }))
    .sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : 1))
    .slice(0, k)
    .map((x) => x.id)
    .sort();
}

export interface ForgetPosition {
  block: string;
  position: number;
}

/** A seeded sample of positions (p >= 1: something to condition on) in the forget blocks. */
export function sampleForgetPositions(blocks: readonly TokenBlock[], size: number, seed: number): ForgetPosition[] {
  const all: ForgetPosition[] = [];
  for (const b of blocks) for (let p = 1; p < b.input_ids.length; p++) all.push({ block: b.id, position: p });
  return seededSample(all, size, deriveSeed(seed, "eval:forget-positions"));
}
