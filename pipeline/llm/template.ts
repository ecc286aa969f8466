/**
 * Prompt templates, for every LLM request the project makes (anchors: llm/prompts.ts; evaluation:
 * eval/judge.ts). A template is a file in prompts/: the system message, a line "=== user ===", then
 * the user message, which holds each data placeholder ({{passage}}, {{terms}}...) between delimiter
 * lines such as <passage> and </passage>. Corpus text and model output only ever go inside those
 * delimiters, as data, after `neutraliseDelimiters`; the instructions stay outside.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../core/errors.js";
import { sha256 } from "../core/hash.js";
import { packageRoot } from "../paths.js";

export interface PromptTemplate<N extends string = string> {
  name: N;
  system: string;
  user: string;
  /** sha256 of the file: recorded with every raw answer, part of every request's cache key. */
  hash: string;
}

const USER_MARKER = /^=== user ===$/m;

/** Parses a template's text; each of `placeholders` must appear in the user message. */
export function parseTemplate<N extends string>(name: N, text: string, placeholders: readonly string[], file = `prompts/${name}.txt`): PromptTemplate<N> {
  const m = USER_MARKER.exec(text);
  if (!m) throw new UserError(`${file} has no "=== user ===" line`, 'put the system message first, then a line "=== user ===", then the user message');
  const user = text.slice(m.index + m[0].length).trim();
  for (const p of placeholders) {
    if (!user.includes(p)) throw new UserError(`${file}: the user message has no ${p}`, `put ${p} where the data goes, between its delimiter lines`);
  }
  return { name, system: text.slice(0, m.index).trim(), user, hash: sha256(text) };
}

/** Reads prompts/<name>.txt (from the package, or `dir`) and parses it. */
export async function loadTemplate<N extends string>(name: N, placeholders: readonly string[], dir = join(packageRoot(), "prompts")): Promise<PromptTemplate<N>> {
  const file = join(dir, `${name}.txt`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(`prompt file not found: ${file}`, "restore it from the whp package");
  }
  return parseTemplate(name, text, placeholders, file);
}

/** Every delimiter tag the templates in prompts/ use. All of them are neutralised in all data, so a
 * passage cannot pose as another template's block either. */
export const DELIMITER_TAGS = ["passage", "terms", "prompt", "references", "completion"] as const;
const DELIMITER = new RegExp(`<\\s*(/?)\\s*(${DELIMITER_TAGS.join("|")})\\b`, "gi");

/** Neutralises the delimiter tags inside data ("<passage" -> "[passage", "</ terms" and "< /terms" ->
 * "[/terms"), so data cannot close its own block and continue as if it were the prompt. */
export function neutraliseDelimiters(data: string): string {
  return data.replace(DELIMITER, (_m, slash: string, tag: string) => `[${slash}${tag}`);
}

/** Replaces each {{key}} with values[key] (unknown keys stay as they are). One pass with a function,
 * so a value holding "{{x}}" or "$&" is inserted as it is, never expanded. */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (Object.hasOwn(values, k) ? values[k] : m));
}
