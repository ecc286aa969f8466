import { z } from "zod";

/** The `llm:` section of the run config (chat models for anchor extraction and evaluation). */
export const llmConfigSchema = z.object({}).strict();
