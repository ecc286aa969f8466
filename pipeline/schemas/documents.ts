/** The ingest stage's artifacts: documents.jsonl and general-documents.jsonl (one normalised corpus
 * file per row). Read by translate, the anchors workflow and the eval commands as well. */
import { z } from "zod";

export const documentSchema = z.object({
  /** The file's path relative to the config file: stable across machines, so block ids are too. */
  id: z.string(),
  sha256: z.string(),
  text: z.string(),
  bom: z.boolean(),
  crlf: z.number().int(),
});
export type Document = z.infer<typeof documentSchema>;
