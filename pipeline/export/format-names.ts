/** Dataset layouts `whp export` can write; each is one folder under <run>/dataset/. Kept apart from
 * config.ts (zod) because the CLI's help lists them, and help loads no schema library. */
/** `torchtune` follows the released torchtune (unshifted labels); `torchtune-shifted` is for torchtune's
 * main branch after commit b18312c7d (see formats.ts). */
export const EXPORT_FORMATS = ["hf", "torchtune", "torchtune-shifted", "text"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
