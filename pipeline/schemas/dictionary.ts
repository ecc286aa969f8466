/** The dictionary stage's artifact: dictionary.json (the approved anchors the translate stage uses).
 * Read by translate, export and the eval commands. */
import { z } from "zod";

export const DICTIONARY_VERSION = 1;

export const dictionaryEntrySchema = z.object({
  term: z.string().min(1),
  translations: z.array(z.string().min(1)).min(1),
  category: z.string(),
});
export type DictionaryFileEntry = z.infer<typeof dictionaryEntrySchema>;

export const dictionarySchema = z.object({
  version: z.literal(DICTIONARY_VERSION),
  source: z.string(),
  sha256: z.string(),
  entries: z.array(dictionaryEntrySchema),
});
export type Dictionary = z.infer<typeof dictionarySchema>;
