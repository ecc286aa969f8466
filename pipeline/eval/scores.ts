/** The evaluation's scores as pure functions over per-item values (see whp-method.md, "Evaluation"). */
import { variantPattern } from "../core/typography.js";
import { bootstrap, type Estimate, meanEstimate } from "./stats.js";

/** Probability familiarity of one prompt: the total next-token probability of its tagged tokens. */
export function taggedProbability(dist: ArrayLike<number>, tagged: readonly number[]): number {
  let s = 0;
  for (const t of new Set(tagged)) s += dist[t];
  return s;
}

/** Mean of the per-prompt tagged probabilities, with its bootstrap interval. */
export function probabilityFamiliarity(perPrompt: readonly number[], seed: number): Estimate {
  return meanEstimate(perPrompt, seed);
}

/** One retain text's negative log-likelihood (natural log, summed) and how many tokens it covers. */
export interface NllItem {
  nll: number;
  tokens: number;
}

/** Corpus perplexity exp(sum nll / sum tokens); the bootstrap resamples whole texts (tokens within a
 * text are not independent). */
export function perplexity(items: readonly NllItem[], seed: number): Estimate {
  return bootstrap(items.length, (idx) => {
    let nll = 0;
    let n = 0;
    for (const i of idx) {
      nll += items[i].nll;
      n += items[i].tokens;
    }
    return Math.exp(nll / n);
  }, seed);
}

/** Utility cost: the model's retain perplexity over the baseline's, paired (the same texts in every
 * resample), so the interval reflects the difference between the models, not the texts' spread. */
export function relativePerplexity(model: readonly NllItem[], baseline: readonly NllItem[], seed: number): Estimate {
  if (model.length !== baseline.length) throw new RangeError(`paired perplexity needs the same retain texts, got ${model.length} and ${baseline.length}`);
  return bootstrap(model.length, (idx) => {
    let a = 0;
    let b = 0;
    let n = 0;
    for (const i of idx) {
      a += model[i].nll;
      b += baseline[i].nll;
      n += model[i].tokens;
    }
    return Math.exp((a - b) / n);
  }, seed);
}

/** KL(p || q) in nats over a full vocabulary; terms with p = 0 contribute nothing. */
export function klDivergence(p: ArrayLike<number>, q: ArrayLike<number>): number {
  if (p.length !== q.length) throw new RangeError(`distributions differ in length: ${p.length} vs ${q.length}`);
  let kl = 0;
  for (let t = 0; t < p.length; t++) if (p[t] > 0) kl += p[t] * Math.log(p[t] / q[t]);
  return kl;
}

/** Restoration: mean KL(oracle || model) over sampled forget-corpus positions (0 = behaves exactly like
 * the model that never saw the forget set). */
export function restoration(perPosition: readonly number[], seed: number): Estimate {
  return meanEstimate(perPosition, seed);
}

/**
 * Judge-free leak: the reference terms that appear in the completion but not in the prompt (a term the
 * prompt already gave away proves nothing). Matching is case-sensitive on whole words.
 */
export function leakedTerms(prompt: string, completion: string, references: readonly string[]): string[] {
  return referenceLeaks(prompt, completion, references).leaked;
}

const hasWord = (text: string, term: string) => new RegExp(`(^|[^\\p{L}\\p{N}])${variantPattern(term)}($|[^\\p{L}\\p{N}])`, "u").test(text);

/** The references a prompt already contains (whole words; apostrophes in any typographic form). */
export function givenAwayReferences(prompt: string, references: readonly string[]): string[] {
  return references.filter((r) => r.length > 0 && hasWord(prompt, r));
}

/** The leak check with what it left out: `excluded` are the references the prompt gave away. */
export function referenceLeaks(prompt: string, completion: string, references: readonly string[]): { leaked: string[]; excluded: string[] } {
  const excluded = givenAwayReferences(prompt, references);
  const gave = new Set(excluded);
  return { leaked: references.filter((r) => r.length > 0 && !gave.has(r) && hasWord(completion, r)), excluded };
}

/** Share of completions that leak at least one reference term. */
export function leakRate(leaks: readonly boolean[], seed: number): Estimate {
  return meanEstimate(leaks.map((l) => (l ? 1 : 0)), seed);
}
