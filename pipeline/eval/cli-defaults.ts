/** The evaluation names and defaults the CLI's help shows, in a module that imports nothing: help must
 * not load the n-gram trainer, the schemas or the CSV parsers just to print them (issue 17). */
export const EVAL_MODELS = ["baseline", "reinforced", "unlearned", "oracle"] as const;
export type EvalModelName = (typeof EVAL_MODELS)[number];

/** Completions `whp review-queue judge` samples by default. */
export const DEFAULT_AUDIT_SIZE = 60;
