/**
 * `whp check`, and what `whp run` does before its first stage: every input check the stages make,
 * with the stages' own functions (the tokenizer loader, the dictionary parser, the corpus decoder), so
 * "ok" means the run will not stop on its inputs. Every problem is collected, each with the config
 * field it comes from, instead of stopping at the first.
 */
import { readFile } from "node:fs/promises";
import type { ResolvedConfig } from "./config.js";
import { UserError } from "./core/errors.js";
import { decodeCorpusBytes } from "./core/text.js";
import { ModelTokenizer } from "./io/tokenizer.js";
import { listFiles } from "./stage.js";
import { parseDictionaryCsv } from "./stages/dictionary.js";

export interface InputProblem {
  /** The config field the problem comes from: "tokenizer", "dictionary", "corpus.forget"... */
  field: string;
  message: string;
}

/** A stage's UserError as one problem line: its message and its fix. */
const asProblem = (field: string, e: unknown): InputProblem => {
  if (!(e instanceof UserError)) throw e;
  return { field, message: `${e.message}${e.fix ? ` (fix: ${e.fix})` : ""}` };
};

async function checkTokenizer(config: ResolvedConfig): Promise<InputProblem[]> {
  try {
    await ModelTokenizer.load(config.tokenizer);
    return [];
  } catch (e) {
    return [asProblem("tokenizer", e)];
  }
}

async function checkDictionary(config: ResolvedConfig): Promise<InputProblem[]> {
  const file = config.dictionary;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    return [{ field: "dictionary", message: `file not found: ${file} (fix: set \`dictionary:\` to your anchors CSV)` }];
  }
  const decoded = decodeCorpusBytes(bytes);
  if (!decoded.ok) return [{ field: "dictionary", message: `${file} ${decoded.problem} (fix: ${decoded.fix})` }];
  try {
    const parsed = parseDictionaryCsv(decoded.text, file);
    if (parsed.entries.length === 0) return [{ field: "dictionary", message: `${file} has no approved entries (fix: mark at least one row's status approved)` }];
    return [];
  } catch (e) {
    return [asProblem("dictionary", e)];
  }
}

async function checkCorpus(config: ResolvedConfig, which: "forget" | "general"): Promise<InputProblem[]> {
  const field = `corpus.${which}`;
  const problems: InputProblem[] = [];
  let texts = 0;
  for (const path of config.corpus[which]) {
    let files: string[];
    try {
      files = await listFiles([path], config.corpus.extensions);
    } catch (e) {
      problems.push(asProblem(field, e));
      continue;
    }
    for (const file of files) {
      const decoded = decodeCorpusBytes(await readFile(file));
      if (!decoded.ok) problems.push({ field, message: `${file} ${decoded.problem} (fix: ${decoded.fix})` });
      else if (decoded.text.trim() !== "") texts++;
    }
  }
  if (which === "forget" && problems.length === 0 && texts === 0) {
    problems.push({ field, message: `the forget corpus is empty: no non-empty ${config.corpus.extensions.join("/")} file under ${config.corpus.forget.join(", ")} (fix: point corpus.forget at the text files the model must forget)` });
  }
  return problems;
}

/** Every problem with the run's inputs; empty when the stages will accept them. */
export async function checkInputs(config: ResolvedConfig): Promise<InputProblem[]> {
  return [...(await checkCorpus(config, "forget")), ...(await checkCorpus(config, "general")), ...(await checkTokenizer(config)), ...(await checkDictionary(config))];
}

/** Throws one UserError listing every problem (exit 2), or returns when there is none. */
export async function assertInputs(config: ResolvedConfig): Promise<void> {
  const problems = await checkInputs(config);
  if (problems.length === 0) return;
  throw new UserError(
    `${config.configPath}: ${problems.length} problem(s) with the run's inputs:\n${problems.map((p) => `  ${p.field}: ${p.message.replace(/\n\s*/g, "\n      ")}`).join("\n")}`,
    "correct every field listed (paths are relative to the config file), then `whp check` again; nothing was written",
  );
}
