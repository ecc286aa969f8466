/**
 * The export stage's run artifacts: a row of train.jsonl (the fine-tuning dataset) and the run's
 * manifest.json. The export stage validates what it writes against these, and every reader (the eval
 * commands, `whp run`'s summary) imports them instead of keeping a partial copy of its own.
 */
import { z } from "zod";
import { alphasSchema, runProvenanceShape, toolSchema } from "./provenance.js";
import { labelsMetaSchema } from "./labels.js";

const ids = z.array(z.number().int());
/** A labels column other than the main `labels`: `labels_alpha_<alpha>` (export stage's labelsColumn). */
const ALPHA_COLUMN = /^labels_alpha_/;
const BASE_KEYS = new Set(["id", "source", "span", "input_ids", "attention_mask", "labels", "counts"]);

export const trainRowCountsSchema = z.object({ masked: z.number().int(), changed: z.number().int(), uncertified: z.number().int() });

/** Hugging Face convention: labels[t] is the target for input_ids[t] (unshifted), -100 = ignored. One
 * `labels_alpha_<a>` column per further alpha; any other extra column is an error. */
export const trainRowSchema = z
  .looseObject({
    id: z.string(),
    /** The document the block comes from. */
    source: z.string(),
    span: z.tuple([z.number().int(), z.number().int()]),
    input_ids: z.array(z.number().int().min(0)),
    attention_mask: ids,
    labels: ids,
    counts: trainRowCountsSchema,
  })
  .superRefine((row, ctx) => {
    for (const [key, value] of Object.entries(row)) {
      if (BASE_KEYS.has(key)) continue;
      if (!ALPHA_COLUMN.test(key)) ctx.addIssue({ code: "custom", path: [key], message: "expected no such column (only labels_alpha_<alpha> may be added)" });
      else if (!ids.safeParse(value).success) ctx.addIssue({ code: "custom", path: [key], message: "expected an array of integer labels" });
    }
  });
export type TrainRow = z.infer<typeof trainRowSchema>;

export const RUN_MANIFEST_VERSION = 1;

export const runManifestCountsSchema = z.object({
  blocks: z.number().int(),
  tokens: z.number().int(),
  positions: z.number().int(),
  masked: z.number().int(),
  changed: z.number().int(),
  /** Per alpha, in the order of alphas.all. */
  uncertified: z.array(z.number().int()),
  anchorOccurrences: z.number().int(),
  unalignedOccurrences: z.number().int(),
});
export type RunManifestCounts = z.infer<typeof runManifestCountsSchema>;

export const runManifestSchema = z.object({
  format: z.literal("whp-run"),
  version: z.literal(RUN_MANIFEST_VERSION),
  tool: toolSchema,
  ...runProvenanceShape,
  models: labelsMetaSchema.shape.models,
  alphas: alphasSchema,
  logitSpace: labelsMetaSchema.shape.logitSpace,
  topK: labelsMetaSchema.shape.topK,
  labelConvention: z.string(),
  labelReview: z
    .object({ file: z.string(), sha256: z.string(), verdicts: z.object({ accept: z.number().int(), replace: z.number().int(), mask: z.number().int() }), skipped: z.number().int() })
    .optional(),
  counts: runManifestCountsSchema,
  /** Every run artifact the dataset was built from; JSONL files with their row count. */
  files: z.array(z.object({ path: z.string(), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/), rows: z.number().int().min(0).optional() })),
});
export type RunManifest = z.infer<typeof runManifestSchema>;
