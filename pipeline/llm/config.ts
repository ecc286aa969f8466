import { z } from "zod";

/**
 * Where anchor proposals come from. `openai` and `hf` are chat models (keys from OPENAI_API_KEY /
 * HF_TOKEN, never from the config, so configs can be shared and committed); `heuristic` needs no model:
 * it ranks terms by how much more often they occur in the forget corpus than in general English.
 */
export const EXTRACTORS = ["openai", "hf", "heuristic"] as const;
export type ExtractorName = (typeof EXTRACTORS)[number];

/** The request field that carries `maxTokens` (see `maxTokensField` below and chat.ts). */
export const MAX_TOKENS_FIELDS = ["auto", "max_tokens", "max_completion_tokens"] as const;

/** The `llm:` section of the run config (chat models for anchor extraction and evaluation). */
export const llmConfigSchema = z
  .object({
    provider: z.enum(EXTRACTORS, { message: `use one of ${EXTRACTORS.join(", ")}` }),
    /** Model name sent with each request (openai: required; hf: the Hub model id, or omitted with baseUrl). */
    model: z.string().min(1).optional(),
    /** openai: any OpenAI-compatible base URL (vLLM, SGLang, Ollama, llama.cpp, LM Studio: ".../v1").
     * hf: a dedicated Inference Endpoint URL; without it requests go through Inference Providers. */
    baseUrl: z.string().url().optional(),
    /** hf only: the Inference Providers policy or provider name ("auto", "together", ...). */
    hfProvider: z.string().min(1).optional(),
    /** Requests in flight at once against the endpoint. */
    concurrency: z.number().int().min(1).max(256).default(4),
    /** Tries per request (first included), and the time one try may take, body included. */
    attempts: z.number().int().min(1).max(20).default(6),
    timeoutMs: z.number().int().min(100).default(120_000),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().min(16).default(2048),
    /** The field that carries maxTokens. OpenAI's reasoning models (o1, o3, o4-mini, gpt-5...) refuse
     * `max_tokens` with a 400 and need `max_completion_tokens`; servers that speak the older protocol
     * know only `max_tokens`. "auto" sends max_completion_tokens for those model names only. */
    maxTokensField: z.enum(MAX_TOKENS_FIELDS, { message: `use one of ${MAX_TOKENS_FIELDS.join(", ")}` }).default("auto"),
    /** Ask for JSON-schema constrained output (response_format). Turn off for servers that reject it;
     * answers are parsed and validated the same way either way. */
    structuredOutput: z.boolean().default(true),
    /** The passage budget per request, in characters (~4 per token for English): leave room in the
     * model's context for the prompt and the answer. */
    passageChars: z.number().int().min(200).default(6000),
    /** Passages drawn per document ("all" = the whole corpus); at least one, so every document is covered. */
    passagesPerDocument: z.union([z.number().int().min(1), z.literal("all")]).default("all"),
    /** The review CSV that consolidation writes and merges into (default: the `dictionary:` file). */
    reviewFile: z.string().min(1).optional(),
    /** New terms come in "approved" instead of "pending". For demos and smoke tests only: it skips
     * the human review the dictionary exists for. Rows already in the file are never changed by it. */
    autoApprove: z.boolean().default(false),
    consolidate: z
      .object({
        /** Drop "Harry Potter" when "Harry" and "Potter" are both terms (the method's rule). */
        dropSplittable: z.boolean().default(true),
        /** Drop "Harry's" when "Harry" is a term. */
        dropPossessive: z.boolean().default(true),
      })
      .strict()
      .default({ dropSplittable: true, dropPossessive: true }),
    heuristic: z
      .object({
        /** How many terms the offline extractor proposes. */
        maxTerms: z.number().int().min(1).default(60),
        /** Occurrences a term needs in the forget corpus to be proposed. */
        minCount: z.number().int().min(1).default(3),
      })
      .strict()
      .default({ maxTerms: 60, minCount: 3 }),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    if (cfg.provider === "openai" && !cfg.model) ctx.addIssue({ code: "custom", path: ["model"], message: "openai needs a model name (e.g. gpt-4o-mini, or the name your server serves)" });
    if (cfg.provider === "hf" && !cfg.model && !cfg.baseUrl) ctx.addIssue({ code: "custom", path: ["model"], message: "hf needs a Hub model id, or baseUrl for a dedicated endpoint" });
    if (cfg.provider === "hf" && cfg.baseUrl && cfg.hfProvider) ctx.addIssue({ code: "custom", path: ["hfProvider"], message: "a dedicated endpoint (baseUrl) takes no hfProvider; remove one of them" });
  });

export type LlmConfig = z.output<typeof llmConfigSchema>;

/** OpenAI's reasoning models: o1, o1-mini, o3-pro, o4-mini, gpt-5, gpt-5.1, gpt-5-mini... (an
 * "org/" prefix, as routers write it, is ignored; gpt-4o, gpt-oss or o-less names do not match). */
const REASONING_MODEL = /^(?:o\d+|gpt-5)(?:[-.]|$)/i;

/** The request field that carries maxTokens for this config ("auto" resolved by model name). */
export function maxTokensField(cfg: Pick<LlmConfig, "maxTokensField" | "model">): "max_tokens" | "max_completion_tokens" {
  if (cfg.maxTokensField !== "auto") return cfg.maxTokensField;
  const name = (cfg.model ?? "").split("/").pop() ?? "";
  return REASONING_MODEL.test(name) ? "max_completion_tokens" : "max_tokens";
}
