import { z } from "zod";
import { EXPORT_FORMATS, type ExportFormat } from "./format-names.js";

export { EXPORT_FORMATS, type ExportFormat };

const DEFAULTS = { formats: ["hf"] as ExportFormat[], validationFraction: 0.05, gzip: false, reinforcement: true, alphaColumns: true };

/** The `export:` section of the run config (dataset formats for trainers). */
export const exportConfigSchema = z
  .object({
    /** Which layouts to write (`whp export --format hf,text` overrides it). */
    formats: z
      .array(z.enum(EXPORT_FORMATS))
      .min(1, `list at least one of ${EXPORT_FORMATS.join(", ")}`)
      .default(DEFAULTS.formats)
      .transform((f) => [...new Set(f)].sort((a, b) => EXPORT_FORMATS.indexOf(a) - EXPORT_FORMATS.indexOf(b))),
    /** Share of blocks held out for validation, drawn with the run's seed. */
    validationFraction: z.number().min(0).max(0.5, "hold out at most half of the blocks").default(DEFAULTS.validationFraction),
    /** Write *.jsonl.gz instead of *.jsonl. */
    gzip: z.boolean().default(DEFAULTS.gzip),
    /** Also write the reinforcement dataset (the forget corpus as plain language-modelling blocks). */
    reinforcement: z.boolean().default(DEFAULTS.reinforcement),
    /** Add a labels_alpha_<a> column per alpha variant to the hf rows; turn off for trainers that
     * insist on exactly input_ids, attention_mask and labels (axolotl's pre-tokenized loader). */
    alphaColumns: z.boolean().default(DEFAULTS.alphaColumns),
  })
  .strict()
  .default(DEFAULTS);
export type ExportConfig = z.output<typeof exportConfigSchema>;
