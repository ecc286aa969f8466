/**
 * Runs the evaluation set against one model: per-item values first (kept in the scores file so
 * comparisons can pair them), then the estimates. The model is anything that yields next-token
 * distributions; decoding text is passed in, so this file does no I/O.
 */
import { deriveSeed } from "../core/hash.js";
import type { ForgetPosition, ProbabilityPrompt, TokenBlock } from "./prompts.js";
import { klDivergence, leakedTerms, leakRate, type NllItem, perplexity, probabilityFamiliarity, relativePerplexity, restoration, taggedProbability } from "./scores.js";
import type { Estimate } from "./stats.js";

export interface DistributionModel {
  /** Next-token probabilities after `history`, over the whole vocabulary. */
  distribution(history: readonly number[]): Float64Array;
  /** Natural-log probability of `token` after `history`. */
  logProb(history: readonly number[], token: number): number;
}

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

/** Greedy continuation (ties to the smaller id), the sandbox's stand-in for sampling a completion. */
export function greedyContinue(model: DistributionModel, context: readonly number[], n: number): number[] {
  const seq = [...context];
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = model.distribution(seq);
    let best = 0;
    for (let t = 1; t < d.length; t++) if (d[t] > d[best]) best = t;
    out.push(best);
    seq.push(best);
  }
  return out;
}

export function retainNll(model: DistributionModel, text: readonly number[]): NllItem {
  let nll = 0;
  for (let p = 1; p < text.length; p++) nll -= model.logProb(text.slice(0, p), text[p]);
  return { nll, tokens: Math.max(0, text.length - 1) };
}

export async function collectItems(
  model: DistributionModel,
  oracle: DistributionModel | undefined,
  set: EvalSetData,
  decode: (ids: readonly number[]) => Promise<string>,
): Promise<EvalItems> {
  const probability = set.probability.map((p) => taggedProbability(model.distribution(p.context_ids), p.tagged));
  const retain = set.retain.map((b) => retainNll(model, b.input_ids));
  const neighbour = set.neighbour.map((b) => retainNll(model, b.input_ids));
  const blocks = new Map(set.forget.map((b) => [b.id, b.input_ids]));
  const kl: number[] = [];
  if (oracle) {
    for (const fp of set.forgetPositions) {
      const ids = blocks.get(fp.block);
      if (!ids) throw new RangeError(`forget position names block ${fp.block}, which is not in blocks.jsonl`);
      const history = ids.slice(0, fp.position);
      kl.push(klDivergence(oracle.distribution(history), model.distribution(history)));
    }
  }
  const completions: Completion[] = [];
  for (const p of set.probability) {
    const ids = greedyContinue(model, p.context_ids, set.completionTokens);
    const [prompt, completion] = [await decode(p.context_ids), await decode(ids)];
    completions.push({ id: p.id, completion_ids: ids, completion, leaked: leakedTerms(prompt, completion, set.references) });
  }
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
