/**
 * Prompts live as files in prompts/ so they can be read, reviewed and changed without touching code.
 * A file holds the system message, a line "=== user ===", then the user message template with one
 * placeholder ({{passage}} or {{terms}}). Corpus text only ever goes inside the user message's
 * delimiters, as data; the instructions stay in the system message.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { hashJson, sha256 } from "../core/hash.js";
import { packageRoot } from "../paths.js";
import type { ChatRequest } from "./chat.js";
import type { LlmConfig } from "./config.js";
import { anchorsAnswerSchema } from "../anchors/parse.js";
import { structuredOutput } from "./structured-output.js";

export const PROMPTS = ["extraction", "translation"] as const;
export type PromptName = (typeof PROMPTS)[number];

const USER_MARKER = /^=== user ===$/m;
const DELIMITER_TAGS = ["passage", "terms"];

export interface PromptTemplate {
  name: PromptName;
  system: string;
  user: string;
  /** sha256 of the file: recorded with every raw answer, part of every request's cache key. */
  hash: string;
}

export function parsePromptText(name: PromptName, text: string, file = `prompts/${name}.txt`): PromptTemplate {
  const m = USER_MARKER.exec(text);
  if (!m) throw new UserError(`${file} has no "=== user ===" line`, "put the system message first, then a line \"=== user ===\", then the user message");
  const system = text.slice(0, m.index).trim();
  const user = text.slice(m.index + m[0].length).trim();
  const placeholder = name === "extraction" ? "{{passage}}" : "{{terms}}";
  if (!user.includes(placeholder)) throw new UserError(`${file}: the user message has no ${placeholder}`, `put ${placeholder} where the data goes, between its delimiter lines`);
  return { name, system, user, hash: sha256(text) };
}

export async function loadPrompt(name: PromptName, dir = join(packageRoot(), "prompts")): Promise<PromptTemplate> {
  const file = join(dir, `${name}.txt`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(`prompt file not found: ${file}`, "restore it from the whp package");
  }
  return parsePromptText(name, text, file);
}

/** Neutralises the delimiter tags inside data, so a passage cannot close its own <passage> block and
 * continue as if it were the prompt. */
export function neutraliseDelimiters(data: string): string {
  const tags = DELIMITER_TAGS.join("|");
  return data.replace(new RegExp(`<(/?)\\s*(${tags})\\b`, "gi"), (_m, slash: string, tag: string) => `[${slash}${tag}`);
}

/** The anchor list the model must answer with (OpenAI strict json_schema: every field required). */
export const ANCHORS_JSON_SCHEMA = structuredOutput("anchors", anchorsAnswerSchema);

function render(template: PromptTemplate, data: string, cfg: LlmConfig): ChatRequest {
  const placeholder = template.name === "extraction" ? "{{passage}}" : "{{terms}}";
  // One substitution with a function: "$&" or a placeholder inside the data is not expanded.
  const user = template.user.replace(placeholder, () => neutraliseDelimiters(data));
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
