/**
 * The combination's contract (see ../combine.ts for the method): what a block brings in, what comes
 * out, and how sure the main alpha's label is. Kept apart so readers of the outputs (the labels
 * stage, labels-review) see the shapes without the hot loops.
 */
import type { LogitSpace, Rows } from "../rows.js";

/** Tokens forbidden at every translated position strictly AFTER `from`, the position where the
 * translation is used (align.ts's ForbiddenEvent fits). Not at `from` itself: whp-method.md, and the
 * reference builder, which applies at row i the forbidden lists of rows 0..i-1. It matters for a
 * one-token translation, whose row is also the anchor's last row. */
export interface ForbiddenSpan {
  readonly from: number;
  readonly tokens: readonly number[];
}

export interface CombineInput {
  /** Rows of the ORIGINAL sequence (row i predicts token i + 1). */
  readonly reinforced: Rows;
  /** Rows of the TRANSLATED sequence. */
  readonly baseline: Rows;
  /** map[i] = translated position compared with original position i; negative = masked. */
  readonly map: Int32Array;
  readonly forbidden: readonly ForbiddenSpan[];
  /** Penalty weights, e.g. [5, 2.5, 10]: one output per alpha, same order. */
  readonly alphas: readonly number[];
  readonly logitSpace: LogitSpace;
}

export interface CombineOutput {
  /** Per alpha: the generic next-token id per original position, -1 where masked. */
  readonly generic: Int32Array[];
  /** Per alpha: 1 where the label is exact or certified, or the position is masked (nothing to
   * certify); 0 where top-k values could not prove it equals the full-row label. */
  readonly certified: Uint8Array[];
  /** Per alpha: number of zeros in `certified`. */
  readonly uncertified: number[];
  /** How sure the MAIN alpha's (alphas[0]) choice is, per original position (see `Choice`). */
  readonly choice: Choice;
}

/** How many runner-up tokens `Choice` lists per position. */
export const RUNNER_UPS = 3;

/**
 * How sure the main alpha's label is, per original position i (NaN / -1 where masked). Computed only
 * for positions that get a label, from values the combination already has at hand. (The baseline's
 * probability of the label is a plain read of the baseline row: see labels-review/uncertainty.ts.)
 * - margin[i]: LB(v_generic of the label) - max over every other token t of UB(v_generic(t)), in the
 *   rows' units (logits or log-probs). For full rows the bounds are the values, so this is exactly
 *   v_generic(label) - v_generic(runner-up), the argmax's decision margin. For top-k rows it is the
 *   margin the listed values guarantee: > 0 exactly when the label is certified, <= 0 when a token
 *   the rows do not pin down might beat it. NaN when no token has a finite lower bound; +Infinity
 *   when no other token can reach a finite value.
 * - runnerUps[i * RUNNER_UPS + r]: the next tokens after the label by UB(v_generic) (= v_generic for
 *   full rows; ties -> smaller id), among the tokens the baseline row lists; -1 pads.
 */
export interface Choice {
  readonly margin: Float64Array;
  readonly runnerUps: Int32Array;
}
