/** The dataset folder's manifest.json: what the verifier checks the folder against. */
import { z } from "zod";
import { alphasSchema, runProvenanceShape, toolSchema } from "../schemas/provenance.js";
import { EXPORT_FORMATS } from "./config.js";

/** 2: `torchtune/` holds unshifted labels (released torchtune) and `torchtune-shifted/` the pre-shifted
 * ones; a version-1 folder's `torchtune/` is pre-shifted (see verify.ts). */
export const DATASET_MANIFEST_VERSION = 2;
export const DATASET_CONFIG_NAMES = [...EXPORT_FORMATS, "reinforcement"] as const;

export const datasetFileSchema = z.object({
  path: z.string(),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Data files only: the dataset config, split, row count and the number of -100 labels. */
  config: z.enum(DATASET_CONFIG_NAMES).optional(),
  split: z.string().optional(),
  rows: z.number().int().min(0).optional(),
  ignoredLabels: z.number().int().min(0).optional(),
  gzip: z.boolean().optional(),
});
export type DatasetFile = z.infer<typeof datasetFileSchema>;

export const datasetManifestSchema = z.object({
  format: z.literal("whp-dataset"),
  version: z.union([z.literal(1), z.literal(DATASET_MANIFEST_VERSION)]),
  tool: toolSchema,
  git: z.object({ commit: z.string() }),
  ...runProvenanceShape,
  models: z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
  dictionary: z.object({ source: z.string(), sha256: z.string(), terms: z.number().int() }),
  alphas: alphasSchema,
  split: z.object({ validationFraction: z.number(), train: z.number().int(), validation: z.number().int() }),
  labelConventions: z.record(z.string(), z.string()),
  counts: z.record(z.string(), z.unknown()),
  files: z.array(datasetFileSchema),
});
export type DatasetManifest = z.infer<typeof datasetManifestSchema>;
