/** The translate stage's artifact: aligned.jsonl (per block: the translated ids, the position map and
 * the forbidden-token schedule of whp-method.md). Read by labels, export, eval and inspect. */
import { z } from "zod";
import { UNALIGNED_REASONS } from "../core/anchors.js";

export const alignedSchema = z.object({
  id: z.string(),
  translated_ids: z.array(z.number().int()),
  /** Original position -> translated position, -1 = masked. */
  map: z.array(z.number().int()),
  forbidden: z.array(z.object({ from: z.number().int(), tokens: z.array(z.number().int()) })),
  occurrences: z.array(
    z.object({
      term: z.string(),
      translation: z.string(),
      start: z.number().int(),
      end: z.number().int(),
      first: z.number().int(),
      last: z.number().int(),
      translatedFirst: z.number().int(),
      translatedLast: z.number().int(),
    }),
  ),
  unaligned: z.array(z.object({ term: z.string(), start: z.number().int(), end: z.number().int(), reason: z.enum(UNALIGNED_REASONS) })),
});
export type AlignedBlock = z.infer<typeof alignedSchema>;
