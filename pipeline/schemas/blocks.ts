/** The tokenize stage's artifacts: blocks.jsonl (forget corpus, with character offsets) and
 * general-blocks.jsonl (general corpus, ids only). Read by translate, labels, export, eval, inspect. */
import { z } from "zod";

export const blockSchema = z.object({
  id: z.string(),
  doc: z.string(),
  index: z.number().int(),
  /** Characters of the document this block covers, [start, end). */
  span: z.tuple([z.number().int(), z.number().int()]),
  input_ids: z.array(z.number().int()),
  /** Each token's character span in the document; special tokens have start == end. */
  starts: z.array(z.number().int()),
  ends: z.array(z.number().int()),
});
export type Block = z.infer<typeof blockSchema>;

export const generalBlockSchema = z.object({ id: z.string(), input_ids: z.array(z.number().int()) });
export type GeneralBlock = z.infer<typeof generalBlockSchema>;
