/**
 * The embedded default language model: a token-level interpolated Kneser-Ney n-gram over integer ids.
 *
 * Notation. A context h is the last d tokens of the history (d = 0 .. order-1); it predicts with the
 * n-grams of order d + 1. Its level in the interpolation is d. For an n-gram (h, t):
 *   c(h, t)  raw weighted count at the highest order; at lower orders the continuation count (number of
 *            distinct tokens seen just left of it) plus its raw weighted count where it starts a
 *            sequence and so has no left token (the KenLM convention);
 *   alpha(h, t) = (c(h, t) - D_{d+1}) / c(h),   gamma(h) = D_{d+1} * N1+(h .) / c(h),
 *   P(t | h) = alpha(h, t) + gamma(h) * P(t | h minus its oldest token),  and at d = 0 the lower
 *   distribution is uniform over the vocabulary. A context with no followers is skipped (its mass
 *   goes to the next lower order unchanged).
 * Unrolled over the chain of seen suffixes h_0 (empty) .. h_m (deepest seen):
 *   P(t) = base + sum_d B_d * alpha(h_d, t),  B_d = prod_{j > d} gamma(h_j),  base = B_0 * gamma(h_0) / V.
 * Both the dense and the top-k paths evaluate exactly this sum in this order, so they agree bit for bit.
 *
 * Contexts live in a trie over the reversed history (child = one more token further back), so one walk
 * per position finds every order. Counts are frozen into typed arrays after training.
 *
 * The parts, in the order a model is made: ngram/count.ts (counting), ngram/freeze.ts (discounts and
 * typed arrays), ngram/query.ts (the model: rows, log-probs, distributions) with ngram/topk-heap.ts.
 */
import { countNgrams, type NgramSequence, type NgramTargetSequence } from "./ngram/count.js";
import { freeze } from "./ngram/freeze.js";
import { NgramModel, type NgramOptions } from "./ngram/query.js";

export type { NgramSequence, NgramTargetSequence } from "./ngram/count.js";
export { discountFor } from "./ngram/freeze.js";
export { NgramModel, type NgramOptions } from "./ngram/query.js";

export function trainKneserNey(sequences: readonly NgramSequence[], opts: NgramOptions): NgramModel {
  const { order, vocabSize } = opts;
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`n-gram order must be a positive integer, got ${order}`);
  if (!Number.isInteger(vocabSize) || vocabSize < 1 || vocabSize > 2 ** 30) throw new RangeError(`vocabSize must be a positive integer, got ${vocabSize}`);
  const raw = countNgrams(sequences, order, vocabSize);
  return new NgramModel(freeze(raw, order, vocabSize), opts, { sequences: sequences.length, tokens: raw.tokens });
}

/**
 * Kneser-Ney over sequences with per-position target overrides. Applying a fine-tuning dataset in the
 * Hugging Face convention (labels[p] = the target for token p, -100 = untouched) to an n-gram means
 * moving each labelled occurrence's count from the original token to the label, which is exactly
 * counting with targets = labels. Without targets this equals trainKneserNey.
 */
export function trainKneserNeyWithTargets(sequences: readonly NgramTargetSequence[], opts: NgramOptions): NgramModel {
  return trainKneserNey(sequences, opts);
}
