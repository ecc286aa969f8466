/**
 * The anchors' LLM requests: term extraction from a passage and translation of a term list, from the
 * templates prompts/extraction.txt and prompts/translation.txt (read and filled by llm/template.ts,
 * like every other prompt). Corpus text only ever goes inside the user message's delimiters, as data;
 * the instructions stay in the system message.
 */
import { hashJson } from "../core/hash.js";
import type { ChatRequest } from "./chat.js";
import type { LlmConfig } from "./config.js";
import { anchorsAnswerSchema } from "../anchors/parse.js";
import { structuredOutput } from "./structured-output.js";
import { fillTemplate, loadTemplate, neutraliseDelimiters, parseTemplate, type PromptTemplate as Template } from "./template.js";

export const PROMPTS = ["extraction", "translation"] as const;
export type PromptName = (typeof PROMPTS)[number];
export type PromptTemplate = Template<PromptName>;

/** The one placeholder each template fills with data. */
const PLACEHOLDER: Record<PromptName, string> = { extraction: "passage", translation: "terms" };

export function parsePromptText(name: PromptName, text: string, file = `prompts/${name}.txt`): PromptTemplate {
  return parseTemplate(name, text, [`{{${PLACEHOLDER[name]}}}`], file);
}

export function loadPrompt(name: PromptName, dir?: string): Promise<PromptTemplate> {
  return loadTemplate(name, [`{{${PLACEHOLDER[name]}}}`], dir);
}

/** The anchor list the model must answer with (OpenAI strict json_schema: every field required). */
export const ANCHORS_JSON_SCHEMA = structuredOutput("anchors", anchorsAnswerSchema);

function render(template: PromptTemplate, data: string, cfg: LlmConfig): ChatRequest {
  // The system message is sent as written: only the user message holds data.
  const user = fillTemplate(template.user, { [PLACEHOLDER[template.name]]: neutraliseDelimiters(data) });
  return {
    model: cfg.model ?? "",
    messages: [
      { role: "system", content: template.system },
      { role: "user", content: user },
    ],
    temperature: cfg.temperature,
    maxTokens: cfg.maxTokens,
    jsonSchema: cfg.structuredOutput ? ANCHORS_JSON_SCHEMA : undefined,
  };
}

export function extractionRequest(template: PromptTemplate, passageText: string, cfg: LlmConfig): ChatRequest {
  return render(template, passageText, cfg);
}

export interface TermToTranslate {
  term: string;
  category: string;
  example: string;
}

export function translationRequest(template: PromptTemplate, terms: readonly TermToTranslate[], cfg: LlmConfig): ChatRequest {
  const lines = terms.map((t) => `${t.term} (${t.category || "other"}): ${t.example.replace(/\s+/g, " ").slice(0, 160)}`);
  return render(template, lines.join("\n"), cfg);
}

/** The cache key of a request: the provider and the canonical request, which hold no key and no URL
 * (so moving a local server to another port keeps the cache). */
export function requestHash(provider: string, req: ChatRequest): string {
  return hashJson({ provider, req });
}
