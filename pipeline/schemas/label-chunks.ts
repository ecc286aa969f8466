/**
 * The labels stage's scratch files, with the registry's schemas because the executor and `whp merge`
 * read them, not only the stage: a chunk file's row (the block's labels plus its uncertainty row, split
 * into labels.jsonl and labels-uncertainty.jsonl at assembly) and the shard record.
 */
import type { z } from "zod";
import { uncertaintyRowSchema } from "../labels-review/uncertainty.js";
import { labelRowSchema, labelsMetaSchema } from "./labels.js";
import { shardRecordBaseSchema } from "./shards.js";

export const labelChunkRowSchema = labelRowSchema.extend({ uncertainty: uncertaintyRowSchema });
export type LabelChunkRow = z.infer<typeof labelChunkRowSchema>;

export const labelsShardRecordSchema = shardRecordBaseSchema.extend({
  logitSpace: labelsMetaSchema.shape.logitSpace,
  models: labelsMetaSchema.shape.models,
});
export type LabelsShardRecord = z.infer<typeof labelsShardRecordSchema>;
