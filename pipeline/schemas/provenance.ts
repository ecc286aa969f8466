/**
 * Fields both manifests (the run's manifest.json and the dataset folder's) carry to say what made
 * the labels: the tokenizer, and which logit sources were embedded sandbox models
 * (export/provenance.ts decides that). One definition, so the two manifests cannot drift apart.
 */
import { z } from "zod";

export const tokenizerInfoSchema = z.object({ sha256: z.string(), vocabSize: z.number().int().positive(), prefixSpecialIds: z.array(z.number().int()) });

/** Present only when a logit source was an embedded sandbox model (a list of role and provider). */
export const embeddedModelsSchema = z.array(z.object({ role: z.string(), provider: z.string() })).optional();
