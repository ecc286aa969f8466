/** What every chunked stage's shard record holds (runner/shards.ts): which shard of how many, over how
 * many chunks. A stage extends it with what its merge needs (the labels stage: the models' identities). */
import { z } from "zod";

export const shardRecordBaseSchema = z.object({
  version: z.literal(1),
  index: z.number().int(),
  count: z.number().int(),
  chunks: z.number().int(),
});
export type ShardRecordBase = z.infer<typeof shardRecordBaseSchema>;
