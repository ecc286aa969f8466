/**
 * The labels stage's uncertainty artifact (labels-uncertainty.jsonl): per block, one entry per
 * LABELLED position (the main alpha's label is not -100), saying how sure the combination was.
 * The definitions are those of `Choice` in core/combine.ts:
 * - prob: the baseline's probability of the chosen generic token at the translated position (raw
 *   value, before forbidden tokens are lowered): exp(log-prob) for log-prob rows (exact, top-k too);
 *   softmax over the listed values for logit rows (exact for full rows; for top-k rows relative to the
 *   listed tokens). null when the baseline does not list the label.
 * - margin: LB(v_generic(label)) - max over the other tokens of UB(v_generic): for full rows exactly
 *   v_generic(label) - v_generic(runner-up), in logit / log-prob units; for top-k rows the margin the
 *   listed values guarantee (> 0 iff the label is certified). null when no token has a finite bound.
 * - runnerUps: up to three next tokens by (the upper bound of) v_generic, best first.
 * Positions are Hugging Face label positions: entry t describes labels[t], the target for input_ids[t],
 * which the combination chose at original position t - 1.
 */
import { z } from "zod";
import { type CombineOutput, RUNNER_UPS } from "../core/combine.js";
import type { LogitSpace, Rows } from "../core/rows.js";

export const UNCERTAINTY_VERSION = 1;

export const uncertaintyRowSchema = z
  .object({
    version: z.literal(UNCERTAINTY_VERSION),
    id: z.string(),
    positions: z.array(z.number().int().min(1)),
    labels: z.array(z.number().int().min(0)),
    prob: z.array(z.number().min(0).max(1).nullable()),
    margin: z.array(z.number().nullable()),
    runnerUps: z.array(z.array(z.number().int().min(0)).max(RUNNER_UPS)),
  })
  .refine((r) => [r.labels, r.prob, r.margin, r.runnerUps].every((a) => a.length === r.positions.length), { message: "positions, labels, prob, margin and runnerUps must have the same length" });
export type UncertaintyRow = z.infer<typeof uncertaintyRowSchema>;

/** Six significant digits: plenty to rank positions, and the file stays small. Not finite -> null;
 * +Infinity (no other token can compete) is written as the largest double so it still ranks last. */
export function roundFigure(x: number): number | null {
  if (Number.isNaN(x) || x === -Infinity) return null;
  if (x === Infinity) return Number.MAX_VALUE;
  return Number(x.toPrecision(6));
}

/**
 * The baseline's probability of `token` in row j (see the module comment): log-prob rows exp(value);
 * logit rows the softmax over the listed values. NaN when the row does not list the token. Kept out
 * of the combination's loop: it reads one row, for labelled positions only.
 */
export function baselineProb(rows: Rows, j: number, token: number, space: LogitSpace): number {
  let start: number, len: number, value: number;
  if (rows.kind === "full") {
    start = j * rows.vocabSize;
    len = rows.vocabSize;
    value = rows.values[start + token];
  } else {
    start = rows.offsets[j];
    len = rows.offsets[j + 1] - start;
    value = NaN;
    for (let k = 0; k < len; k++) if (rows.ids[start + k] === token) value = rows.values[start + k];
  }
  if (space === "logprobs" || Number.isNaN(value)) return Math.exp(value);
  let max = -Infinity;
  for (let k = 0; k < len; k++) if (rows.values[start + k] > max) max = rows.values[start + k];
  let sum = 0;
  for (let k = 0; k < len; k++) sum += Math.exp(rows.values[start + k] - max);
  return Math.exp(value - max) / sum;
}

/** The block's uncertainty row from the combination's output (main alpha) and the baseline rows it
 * read (map[i] = the translated row compared with original position i). */
export function uncertaintyRow(id: string, out: CombineOutput, baseline: Rows, map: ArrayLike<number>, space: LogitSpace): UncertaintyRow {
  const generic = out.generic[0];
  const { margin, runnerUps } = out.choice;
  const row: UncertaintyRow = { version: UNCERTAINTY_VERSION, id, positions: [], labels: [], prob: [], margin: [], runnerUps: [] };
  // generic[i] is labels[i + 1]; generic[n - 1] predicts past the block and is dropped (toHfLabels).
  for (let i = 0; i + 1 < generic.length; i++) {
    if (generic[i] < 0) continue;
    row.positions.push(i + 1);
    row.labels.push(generic[i]);
    const p = roundFigure(baselineProb(baseline, map[i], generic[i], space));
    row.prob.push(p === null ? null : Math.min(1, p));
    row.margin.push(roundFigure(margin[i]));
    const alts: number[] = [];
    for (let r = 0; r < RUNNER_UPS; r++) if (runnerUps[i * RUNNER_UPS + r] >= 0) alts.push(runnerUps[i * RUNNER_UPS + r]);
    row.runnerUps.push(alts);
  }
  return row;
}
