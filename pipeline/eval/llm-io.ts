/** The LLM side of the evaluation's commands: the chat model from the config, completion-prompt
 * generation from forget passages, the judge's setup, and reading a user's prompt file. */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ResolvedConfig } from "../config.js";
import { fileExists, fileSha256, readJsonlAll } from "../io/artifacts.js";
import { UserError } from "../core/errors.js";
import { deriveSeed } from "../core/hash.js";
import { ModelTokenizer } from "../io/tokenizer.js";
import { CHAT_PROVIDERS, ChatClient, isChatProvider } from "../llm/chat.js";
import type { LlmConfig } from "../llm/config.js";
import { ARTIFACTS } from "../stage.js";
import { readArtifact } from "../schemas/registry.js";
import { familiarityPromptSchema } from "./familiarity.js";
import { evalFiles } from "./files.js";
import { CachedChat, generateFamiliarityPrompts, loadEvalTemplate } from "./judge.js";
import { seededSample } from "./prompts.js";
import { askProbabilityPrompts, tagWrittenPrompts } from "./probability-llm.js";

/** The judge LLM's setup for `whp eval --judge`: prompts, template, a cached chat client. */
export async function judgeSetup(config: ResolvedConfig, warn?: (message: string) => void) {
  const files = evalFiles(config.runDir);
  if (!(await fileExists(files.familiarity))) throw new UserError(`${files.familiarity} does not exist`, "write completion prompts first: `whp evalset --familiarity <file>` or `whp evalset --generate <passages>`");
  const llm = requireChatConfig(config);
  const template = await loadEvalTemplate("familiarity-judge");
  const prompts = await readJsonlAll(files.familiarity, familiarityPromptSchema);
  // A corrupt cached judgement is warned about through the run's logger (CachedChat's default is stderr).
  const chat = new CachedChat(new ChatClient(llm, process.env), join(files.dir, ".cache", "chat"), warn);
  // Secrets come from the environment and never enter the hash; the endpoint does not change answers' meaning.
  const identity = { model: llm.model ?? "", provider: llm.provider, temperature: llm.temperature, template: template.hash, prompts: await fileSha256(files.familiarity) };
  return { llm, template, prompts, chat, identity };
}

export function requireChatConfig(config: ResolvedConfig): LlmConfig {
  const llm = config.llm;
  if (!llm || !isChatProvider(llm.provider)) {
    throw new UserError(`this needs a chat model under llm: in ${config.configPath}, got ${llm ? `provider "${llm.provider}"` : "no llm section"}`, `set llm.provider to one of ${CHAT_PROVIDERS.join(", ")} with its model`);
  }
  return llm;
}

export const JUDGE_TRIES = 3;
export const JUDGE_COMPLETION_TOKENS = 24;

/** Completion prompts written by the llm: chat model from a seeded sample of forget blocks' text. */
export async function generatePrompts(config: ResolvedConfig, passages: number, perPassage: number) {
  const llm = requireChatConfig(config);
  const files = evalFiles(config.runDir);
  const tok = await ModelTokenizer.load(config.tokenizer);
  const blocks = seededSample(await readArtifact({ path: (name) => join(config.runDir, ARTIFACTS[name]) }, "blocks"), passages, deriveSeed(config.seed, "eval:familiarity-passages"));
  const texts = [];
  for (const b of blocks) texts.push({ id: b.id, text: (await tok.decode(b.input_ids)).slice(0, llm.passageChars) });
  const chat = new CachedChat(new ChatClient(llm, process.env), join(files.dir, ".cache", "chat"));
  return generateFamiliarityPrompts(chat, await loadEvalTemplate("familiarity-generate"), texts, { perPassage, tries: JUDGE_TRIES, cfg: llm });
}

/** A JSON file the user supplies (not a run artifact), with errors that say so. */
export async function readUserJson(path: string): Promise<unknown> {
  const text = await readFile(path, "utf8").catch(() => {
    throw new UserError(`${path} not found`, "check the path given to --familiarity");
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path} is not valid JSON (${(e as Error).message})`, "fix the file, or export it again from its source");
  }
}

/** Extra probability prompts written by the llm: chat model from a seeded sample of forget blocks,
 * each passage given with the dictionary terms that occur in it. */
export async function writeProbabilityPrompts(
  config: ResolvedConfig,
  input: { blocks: readonly { id: string; input_ids: number[] }[]; aligned: readonly { id: string; occurrences: readonly { term: string }[] }[]; dictionary: readonly { term: string; translations: string[] }[]; tok: ModelTokenizer; taken: ReadonlySet<string> },
  passages: number,
  perPassage: number,
) {
  const { llm, template, identity } = await probabilityLlmIdentity(config);
  const files = evalFiles(config.runDir);
  const termsOf = new Map(input.aligned.map((a) => [a.id, [...new Set(a.occurrences.map((o) => o.term))].sort()]));
  // Only passages with a term in them can yield a prompt.
  const withTerms = input.blocks.filter((b) => (termsOf.get(b.id) ?? []).length > 0);
  const picked = seededSample(withTerms, passages, deriveSeed(config.seed, "eval:probability-passages"));
  const texts = [];
  for (const b of picked) texts.push({ id: b.id, text: (await input.tok.decode(b.input_ids)).slice(0, llm.passageChars), terms: termsOf.get(b.id) ?? [] });
  const chat = new CachedChat(new ChatClient(llm, process.env), join(files.dir, ".cache", "chat"));
  const asked = await askProbabilityPrompts(chat, template, texts, { perPassage, tries: JUDGE_TRIES, cfg: llm });
  const io = { encode: (t: string) => input.tok.encodeIds(t), prefix: input.tok.info.prefixSpecialIds };
  const { prompts, stats } = await tagWrittenPrompts(asked.answers, input.dictionary, io, input.taken);
  return {
    prompts,
    stats: { passages: texts.length, failedPassages: asked.failedPassages, malformed: asked.malformed, ...stats },
    identity,
  };
}

/** What the written prompts depend on besides the run (no secret, no endpoint): recorded in the set. */
export async function probabilityLlmIdentity(config: ResolvedConfig) {
  const llm = requireChatConfig(config);
  const template = await loadEvalTemplate("probability-generate");
  return { llm, template, identity: { provider: llm.provider, model: llm.model ?? "", temperature: llm.temperature, template: template.hash } };
}
