/**
 * Fields both manifests (the run's manifest.json and the dataset folder's) carry to say what made
 * the labels: the tokenizer, and which logit sources were embedded sandbox models
 * (export/provenance.ts decides that). One definition, so the two manifests cannot drift apart.
 */
import { z } from "zod";

export const tokenizerInfoSchema = z.object({ sha256: z.string(), vocabSize: z.number().int().positive(), prefixSpecialIds: z.array(z.number().int()) });

/** Present only when a logit source was an embedded sandbox model (a list of role and provider). */
export const embeddedModelsSchema = z.array(z.object({ role: z.string(), provider: z.string() })).optional();

/** The run's identity both manifests record after their tool (and, for the dataset, git) fields, in
 * this order: its name, whether it is demonstration data, the embedded models, the seed, the resolved
 * config and the tokenizer. */
export const runProvenanceShape = {
  run: z.string(),
  /** Present (true) only when a logit source was an embedded sandbox model: not for real fine-tuning. */
  demonstrationOnly: z.literal(true).optional(),
  embeddedModels: embeddedModelsSchema,
  seed: z.number().int(),
  config: z.record(z.string(), z.unknown()),
  tokenizer: tokenizerInfoSchema,
};

export const toolSchema = z.object({ name: z.string(), version: z.string() });

/** The alpha the main label column uses, every alpha labelled, and the column names they became. */
export const alphasSchema = z.object({ main: z.number(), all: z.array(z.number()), columns: z.array(z.string()) });
