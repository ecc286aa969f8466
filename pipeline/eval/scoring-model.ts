/**
 * What the evaluation asks of a model, whatever runs it: the total probability of some next tokens,
 * a text's negative log-likelihood, and a greedy completion. Two kinds answer:
 * - in-process models (the sandbox n-grams), which also give whole next-token distributions, so the
 *   restoration KL to the oracle can be computed;
 * - served models (vLLM, SGLang), over HTTP: exact log-probs of given tokens (vLLM's prompt_logprobs,
 *   SGLang's input_token_logprobs) and the server's own temperature-0 completion. A server lists only
 *   the top k of a distribution, so no KL for them.
 */
import type { ModelIdentity } from "../core/rows.js";
import type { ServedLogitSource } from "../models/preflight.js";
import { type NllItem, taggedProbability } from "./scores.js";

export interface ScoringModel {
  readonly identity: ModelIdentity;
  /** Total next-token probability of the (distinct) tagged tokens after `context`. */
  taggedProbability(context: readonly number[], tagged: readonly number[]): Promise<number>;
  /** Negative log-likelihood (nats) of every token after the first, given the ones before it. */
  nll(tokens: readonly number[]): Promise<NllItem>;
  /** Greedy continuation of `context`: up to `maxTokens` tokens, with its text. */
  complete(context: readonly number[], maxTokens: number): Promise<{ ids: number[]; text: string }>;
  /** The whole next-token distribution; only in-process models have it. */
  distribution?(history: readonly number[]): Float64Array;
}

export interface DistributionModel {
  readonly identity: ModelIdentity;
  /** Next-token probabilities after `history`, over the whole vocabulary. */
  distribution(history: readonly number[]): Float64Array;
  /** Natural-log probability of `token` after `history`. */
  logProb(history: readonly number[], token: number): number;
}

/** Greedy continuation (ties to the smaller id), the sandbox's stand-in for sampling a completion. */
export function greedyContinue(model: Pick<DistributionModel, "distribution">, context: readonly number[], n: number): number[] {
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

export function inProcessModel(model: DistributionModel, decode: (ids: readonly number[]) => Promise<string>): ScoringModel {
  return {
    identity: model.identity,
    distribution: (h) => model.distribution(h),
    taggedProbability: async (context, tagged) => taggedProbability(model.distribution(context), tagged),
    nll: async (text) => {
      let nll = 0;
      for (let p = 1; p < text.length; p++) nll -= model.logProb(text.slice(0, p), text[p]);
      return { nll, tokens: Math.max(0, text.length - 1) };
    },
    complete: async (context, n) => {
      const ids = greedyContinue(model, context, n);
      return { ids, text: await decode(ids) };
    },
  };
}

/** A served model; `encode` turns the server's completion text back into the run's token ids. */
export function servedModel(source: ServedLogitSource, encode: (text: string) => Promise<number[]>): ScoringModel {
  return {
    identity: source.identity,
    taggedProbability: async (context, tagged) => {
      // One request per tagged token, appended to the context: the server reports the exact
      // log-prob of a prompt's own tokens, however far down the distribution they sit.
      const probs = await Promise.all([...new Set(tagged)].map(async (t) => Math.exp((await source.tokenLogprobs([...context, t])).at(-1) as number)));
      return probs.reduce((a, b) => a + b, 0);
    },
    nll: async (tokens) => {
      if (tokens.length < 2) return { nll: 0, tokens: 0 };
      const lps = await source.tokenLogprobs(tokens);
      return { nll: -lps.reduce((a, b) => a + b, 0), tokens: lps.length };
    },
    complete: async (context, n) => {
      const text = await source.complete(context, n);
      return { ids: await encode(text), text };
    },
  };
}
