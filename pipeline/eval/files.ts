/** The evaluation's artifacts under <run>/eval/, each versioned and validated on read. */
import { join } from "node:path";
import { z } from "zod";

// 2: neighbour retain texts (eval/neighbour.jsonl, neighbourGeneral, neighbour scores).
export const EVAL_VERSION = 2;

export const evalFiles = (runDir: string) => {
  const dir = join(runDir, "eval");
  return {
    dir,
    evalset: join(dir, "evalset.json"),
    probability: join(dir, "probability.jsonl"),
    /** Probability prompts imported from a file (`whp evalset --probability`), kept apart from the
     * mined ones so that mining again never drops them. */
    probabilityImported: join(dir, "probability-imported.jsonl"),
    retain: join(dir, "retain.jsonl"),
    neighbour: join(dir, "neighbour.jsonl"),
    familiarity: join(dir, "familiarity.jsonl"),
    scores: (model: string) => join(dir, `scores-${model}.json`),
    report: join(runDir, "report.html"),
  };
};

export const evalParamsSchema = z.object({
  size: z.number().int().min(1),
  contextTokens: z.number().int().min(1),
  retainFraction: z.number().gt(0).lt(1),
  forgetPositions: z.number().int().min(0),
  completionTokens: z.number().int().min(1),
  /** General blocks picked as neighbour retain texts (0 = none). */
  neighbours: z.number().int().min(0),
  /** Forget passages the llm: chat model writes extra probability prompts from (0 = mined only). */
  llmPassages: z.number().int().min(0),
  llmPerPassage: z.number().int().min(1),
});
export type EvalParams = z.infer<typeof evalParamsSchema>;

export const evalsetSchema = z.object({
  format: z.literal("whp-evalset"),
  version: z.literal(EVAL_VERSION),
  seed: z.number().int(),
  params: evalParamsSchema,
  /** sha256 of the run artifacts the set was mined from, to detect a stale set. */
  sources: z.record(z.string(), z.string()),
  stats: z.record(z.string(), z.number()),
  heldOutGeneral: z.array(z.string()),
  /** General blocks closest in vocabulary to the forget corpus, also held out from every model. */
  neighbourGeneral: z.array(z.string()),
  /** The chat model and template that wrote the extra probability prompts, when llmPassages > 0. */
  llm: z.object({ provider: z.string(), model: z.string(), temperature: z.number(), template: z.string() }).optional(),
  /** sha256 of each imported file under eval/ the set includes (probability-imported.jsonl). */
  imports: z.record(z.string(), z.string()).optional(),
  forgetPositions: z.array(z.object({ block: z.string(), position: z.number().int().min(1) })),
  references: z.array(z.string()),
});
export type EvalSetFile = z.infer<typeof evalsetSchema>;

export const probabilityPromptSchema = z.object({
  id: z.string(),
  /** Absent: mined from the corpus; "llm": written by the chat model; "imported": from a prompt file
   * (`whp evalset --probability`). Both with position -1. */
  origin: z.enum(["llm", "imported"]).optional(),
  block: z.string(),
  position: z.number().int(),
  context_ids: z.array(z.number().int().min(0)).min(1),
  tagged: z.array(z.number().int().min(0)).min(1),
  terms: z.array(z.string()),
  text: z.string(),
  tagged_text: z.array(z.string()),
});

export const retainRowSchema = z.object({ id: z.string(), input_ids: z.array(z.number().int().min(0)) });

const estimateSchema = z.object({ value: z.number(), n: z.number().int(), ci: z.tuple([z.number(), z.number()]) });

export const scoresSchema = z.object({
  format: z.literal("whp-eval-scores"),
  version: z.literal(EVAL_VERSION),
  model: z.string(),
  identity: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  /** sha256 of evalset.json: scores from different sets must not be compared. */
  evalset: z.string(),
  /** Hash of everything the scores depend on (set, run artifacts, model specs): equal = up to date. */
  fingerprint: z.string(),
  scores: z.object({
    probabilityFamiliarity: estimateSchema,
    leakRate: estimateSchema,
    retainPerplexity: estimateSchema,
    relativePerplexity: estimateSchema.optional(),
    /** Perplexity on the neighbour texts, and over the baseline's (paired); absent without neighbours. */
    neighbourPerplexity: estimateSchema.optional(),
    neighbourRelative: estimateSchema.optional(),
    restorationKL: estimateSchema.optional(),
    /** Judge LLM on eval/familiarity.jsonl: (5 * n3 + n2) / N. */
    completionFamiliarity: estimateSchema.optional(),
  }),
  /** Details of the judged completion familiarity, when `whp eval --judge` ran. */
  familiarity: z
    .object({
      counts: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]),
      failed: z.number().int(),
      malformed: z.number().int(),
      /** Per subtlety grade; empty when the prompts carry none. */
      bySubtlety: z.record(z.string(), z.object({ score: z.number(), n: z.number().int() })),
      /** Judge-free check: completions naming a reference the prompt did not give away, and the
       * references left out because their prompt already contains them. */
      leaks: z.object({ completions: z.number().int(), excludedReferences: z.number().int(), promptsGivingAway: z.number().int() }).optional(),
      judgements: z.array(z.object({ id: z.string(), completion: z.string(), score: z.number().int().nullable(), leaked: z.array(z.string()).optional() })),
    })
    .optional(),
  items: z.object({
    probability: z.array(z.number()),
    retain: z.array(z.object({ nll: z.number(), tokens: z.number().int() })),
    neighbour: z.array(z.object({ nll: z.number(), tokens: z.number().int() })),
    kl: z.array(z.number()),
    completions: z.array(z.object({ id: z.string(), completion_ids: z.array(z.number().int()), completion: z.string(), leaked: z.array(z.string()) })),
  }),
});
export type ScoresFile = z.infer<typeof scoresSchema>;

