/**
 * The labels stage's artifact schemas: a row of labels.jsonl and labels-meta.json (with the review it
 * records). They live outside the stage file because the stage is not their only user: the review
 * step, the export stage, `whp inspect` and the review queue read the same files, and importing them
 * from the stage made the stage and its review step import each other.
 */
import { z } from "zod";

export const labelRowSchema = z.object({
  id: z.string(),
  /** Hugging Face convention, one array per alpha (same order as labels-meta.json's alphas). */
  labels: z.array(z.array(z.number().int())),
  uncertified: z.array(z.number().int()),
});
export type LabelRow = z.infer<typeof labelRowSchema>;

export const overrideSchema = z.object({ block: z.string(), position: z.number().int().min(1), before: z.array(z.number().int()), after: z.number().int() });
export type Override = z.infer<typeof overrideSchema>;

/** What labels-meta.json records about the review it applied (labels-review/review-file.ts). */
export const appliedReviewSchema = z.object({
  file: z.string(),
  sha256: z.string(),
  /** Verdicts applied, by kind. */
  verdicts: z.object({ accept: z.number().int(), replace: z.number().int(), mask: z.number().int() }),
  /** Verdicts whose position is not a labelled position of this run (other blocks, or masked by the
   * method): counted and warned about, never applied. */
  skipped: z.number().int(),
  /** Each changed position: its labels (per alpha) before the override, and the value it set. */
  overrides: z.array(overrideSchema),
});
export type AppliedReview = z.infer<typeof appliedReviewSchema>;

export const labelsMetaSchema = z.object({
  version: z.literal(1),
  alphas: z.array(z.number()),
  topK: z.union([z.number().int(), z.literal("full")]),
  logitSpace: z.enum(["logprobs", "logits"]),
  models: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  /** Key of everything that shapes the combined labels (not the review): a run whose key matches
   * re-applies a new review to its labels without asking the models (labels-review/stage-review.ts). */
  combination: z.string().optional(),
  /** sha256 of the labels and uncertainty files this stage wrote with this metadata. */
  outputs: z.object({ labels: z.string(), uncertainty: z.string() }).optional(),
  /** The review applied after the combination, if any. */
  review: appliedReviewSchema.optional(),
});
