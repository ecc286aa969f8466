/**
 * Runs the evaluation set against one model: per-item values first (kept in the scores file so
 * comparisons can pair them), then the estimates. The model is anything that yields next-token
 * distributions or answers over HTTP (scoring-model.ts); decoding text is passed in, so this file does no I/O.
 */
import { deriveSeed } from "../core/hash.js";
import type { ForgetPosition, ProbabilityPrompt, TokenBlock } from "./prompts.js";
import type { ScoringModel } from "./scoring-model.js";
import { klDivergence, leakedTerms, leakRate, type NllItem, perplexity, probabilityFamiliarity, relativePerplexity, restoration } from "./scores.js";
import type { Estimate } from "./stats.js";

export interface EvalSetData {
  probability: readonly ProbabilityPrompt[];
  retain: readonly TokenBlock[];
  /** Neighbour retain texts: general blocks close in vocabulary to the forget corpus. */
  neighbour: readonly TokenBlock[];
  forget: readonly TokenBlock[];
  forgetPositions: readonly ForgetPosition[];
  /** Reference terms for the leak check: every anchor term of the dictionary. */
  references: readonly string[];
  completionTokens: number;
  seed: number;
  /** Text of token ids (the run's tokenizer), for the leak check's prompts. */
  decode(ids: readonly number[]): Promise<string>;
}

export interface Completion {
  id: string;
  completion_ids: number[];
  completion: string;
  leaked: string[];
}

export interface EvalItems {
  probability: number[];
  retain: NllItem[];
  neighbour: NllItem[];
  kl: number[];
  completions: Completion[];
}

export interface EvalScores {
  probabilityFamiliarity: Estimate;
  leakRate: Estimate;
  retainPerplexity: Estimate;
  /** Retain perplexity over the baseline's (paired); absent when the baseline's items are unknown. */
  relativePerplexity?: Estimate;
  /** Perplexity on the neighbour texts, and over the baseline's (paired); absent without neighbours. */
  neighbourPerplexity?: Estimate;
  neighbourRelative?: Estimate;
  /** Mean KL(oracle || model) on forget positions; absent without an oracle. */
  restorationKL?: Estimate;
  /** Judge LLM's completion familiarity, (5 * n3 + n2) / N; absent unless judged. */
  completionFamiliarity?: Estimate;
}

/** Per-item values of one model. Requests are issued together: a served model's endpoint pool
 * limits how many are in flight, and in-process models simply answer in turn. */
export async function collectItems(model: ScoringModel, oracle: ScoringModel | undefined, set: EvalSetData): Promise<EvalItems> {
  const blocks = new Map(set.forget.map((b) => [b.id, b.input_ids]));
  const kl: number[] = [];
  // KL needs whole distributions, which only in-process models give.
  if (oracle?.distribution && model.distribution) {
    for (const fp of set.forgetPositions) {
      const ids = blocks.get(fp.block);
      if (!ids) throw new RangeError(`forget position names block ${fp.block}, which is not in blocks.jsonl`);
      const history = ids.slice(0, fp.position);
      kl.push(klDivergence(oracle.distribution(history), model.distribution(history)));
    }
  }
  const [probability, retain, neighbour, completions] = await Promise.all([
    Promise.all(set.probability.map((p) => model.taggedProbability(p.context_ids, p.tagged))),
    Promise.all(set.retain.map((b) => model.nll(b.input_ids))),
    Promise.all(set.neighbour.map((b) => model.nll(b.input_ids))),
    Promise.all(
      set.probability.map(async (p): Promise<Completion> => {
        const [prompt, done] = await Promise.all([set.decode(p.context_ids), model.complete(p.context_ids, set.completionTokens)]);
        return { id: p.id, completion_ids: done.ids, completion: done.text, leaked: leakedTerms(prompt, done.text, set.references) };
      }),
    ),
  ]);
  return { probability, retain, neighbour, kl, completions };
}

export function scoreItems(items: EvalItems, seed: number, baseline?: EvalItems): EvalScores {
  const s = (what: string) => deriveSeed(seed, "eval:bootstrap", what);
  return {
    probabilityFamiliarity: probabilityFamiliarity(items.probability, s("probability")),
    leakRate: leakRate(items.completions.map((c) => c.leaked.length > 0), s("leak")),
    retainPerplexity: perplexity(items.retain, s("perplexity")),
    ...(baseline ? { relativePerplexity: relativePerplexity(items.retain, baseline.retain, s("relative")) } : {}),
    ...(items.neighbour.length ? { neighbourPerplexity: perplexity(items.neighbour, s("neighbour")) } : {}),
    ...(items.neighbour.length && baseline ? { neighbourRelative: relativePerplexity(items.neighbour, baseline.neighbour, s("neighbour-relative")) } : {}),
    ...(items.kl.length ? { restorationKL: restoration(items.kl, s("kl")) } : {}),
  };
}
