/**
 * Completion familiarity with an LLM: writing completion prompts from forget-corpus passages, and
 * judging completions 0-3. Uses the project's chat client (pipeline/llm/chat.ts: one retry loop for
 * transport failures, one concurrency limit per endpoint); this file adds what is specific to
 * evaluation: its templates in prompts/ (read and filled by llm/template.ts), answer validation, and
 * re-asking on a malformed answer (a judgement that stays malformed is counted as failed, never as 0).
 */
import { z } from "zod";
import { DiskCache, jsonCodec } from "../io/disk-cache.js";
import { createLogger } from "../io/log.js";
import { hashJson } from "../core/hash.js";
import type { ChatAnswer, ChatRequest } from "../llm/chat.js";
import type { LlmConfig } from "../llm/config.js";
import { type JsonSchemaFormat, structuredOutput } from "../llm/structured-output.js";
import { fillTemplate, loadTemplate, neutraliseDelimiters, parseTemplate, type PromptTemplate } from "../llm/template.js";
import { type FamiliarityPrompt, type JudgeScore, parseJudgement } from "./familiarity.js";
import type { ScoringModel } from "./scoring-model.js";

/** What this file needs from a chat model (ChatClient satisfies it). */
export interface ChatModel {
  complete(req: ChatRequest): Promise<ChatAnswer>;
}

export const EVAL_PROMPTS = ["familiarity-generate", "familiarity-judge", "probability-generate"] as const;
export type EvalPromptName = (typeof EVAL_PROMPTS)[number];

const PLACEHOLDERS: Record<EvalPromptName, readonly string[]> = {
  "familiarity-generate": ["{{passage}}"],
  "familiarity-judge": ["{{prompt}}", "{{completion}}"],
  "probability-generate": ["{{passage}}", "{{terms}}"],
};

export type EvalTemplate = PromptTemplate<EvalPromptName>;

export function parseEvalTemplate(name: EvalPromptName, text: string, file = `prompts/${name}.txt`): EvalTemplate {
  return parseTemplate(name, text, PLACEHOLDERS[name], file);
}

export function loadEvalTemplate(name: EvalPromptName, dir?: string): Promise<EvalTemplate> {
  return loadTemplate(name, PLACEHOLDERS[name], dir);
}

export function request(t: EvalTemplate, values: Record<string, string>, cfg: LlmConfig, schema: JsonSchemaFormat, maxTokens: number): ChatRequest {
  return {
    model: cfg.model ?? "",
    messages: [
      { role: "system", content: fillTemplate(t.system, values) },
      { role: "user", content: fillTemplate(t.user, values) },
    ],
    temperature: cfg.temperature,
    maxTokens: Math.min(cfg.maxTokens, maxTokens),
    ...(cfg.structuredOutput ? { jsonSchema: schema } : {}),
  };
}

/** The judgement the judge request asks for. parseJudgement also reads free-form answers ("Score: 2"),
 * so this schema only shapes the request; `type: integer` is what the request has always said. */
const judgementSchema = z.object({ score: z.literal([0, 1, 2, 3]).meta({ type: "integer" }), reason: z.string() });

const generatedSchema = z.object({
  prompts: z.array(z.object({ prompt: z.string().min(1), references: z.array(z.string()), subtlety: z.number().int().min(1).max(10) })),
});

const JUDGE_SCHEMA = structuredOutput("judgement", judgementSchema);
const GENERATED_SCHEMA = structuredOutput("prompts", generatedSchema);

export function judgeRequest(t: EvalTemplate, prompt: FamiliarityPrompt, completion: string, cfg: LlmConfig): ChatRequest {
  return request(t, { prompt: neutraliseDelimiters(prompt.prompt), references: neutraliseDelimiters(prompt.references.join("\n")), completion: neutraliseDelimiters(completion) }, cfg, JUDGE_SCHEMA, 256);
}

export function generationRequest(t: EvalTemplate, passage: string, count: number, cfg: LlmConfig): ChatRequest {
  return request(t, { passage: neutraliseDelimiters(passage), count: String(count) }, cfg, GENERATED_SCHEMA, 4096);
}

export interface JudgeOutcome {
  score: JudgeScore | null;
  /** Answers that could not be parsed (each was re-asked). */
  malformed: number;
  answer: string;
}

/**
 * Asks the judge up to `tries` times; a malformed answer is asked again, and after the last try the
 * judgement is failed (score null). Transport failures were already retried inside the chat client
 * and propagate from here.
 */
export async function judge(chat: ChatModel, req: ChatRequest, tries: number): Promise<JudgeOutcome> {
  let malformed = 0;
  let answer = "";
  for (let i = 0; i < tries; i++) {
    answer = (await chat.complete(req)).text;
    const score = parseJudgement(answer);
    if (score !== null) return { score, malformed, answer };
    malformed++;
  }
  return { score: null, malformed, answer };
}

/** The prompts in a generation answer, or null when it is not valid JSON in the asked shape. Prompts
 * that contain one of their own references give the answer away and are dropped (counted). */
export function parseGenerated(answer: string): { prompts: { prompt: string; references: string[]; subtlety: number }[]; givenAway: number } | null {
  const start = answer.indexOf("{");
  const end = answer.lastIndexOf("}");
  if (start < 0 || end < start) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(answer.slice(start, end + 1));
  } catch {
    return null;
  }
  const parsed = generatedSchema.safeParse(raw);
  if (!parsed.success) return null;
  const keep = parsed.data.prompts.filter((p) => !p.references.some((r) => r.length > 0 && p.prompt.includes(r)));
  return { prompts: keep, givenAway: parsed.data.prompts.length - keep.length };
}

export interface GenerationStats {
  passages: number;
  failedPassages: number;
  malformed: number;
  givenAway: number;
  duplicates: number;
}

/** Completion prompts from passages (one request per passage, asked again when malformed), deduplicated
 * by normalised text, ids in passage order. */
export async function generateFamiliarityPrompts(
  chat: ChatModel,
  t: EvalTemplate,
  passages: readonly { id: string; text: string }[],
  opts: { perPassage: number; tries: number; cfg: LlmConfig },
): Promise<{ prompts: FamiliarityPrompt[]; stats: GenerationStats }> {
  const stats: GenerationStats = { passages: passages.length, failedPassages: 0, malformed: 0, givenAway: 0, duplicates: 0 };
  const answers = await Promise.all(
    passages.map(async (p) => {
      const req = generationRequest(t, p.text, opts.perPassage, opts.cfg);
      for (let i = 0; i < opts.tries; i++) {
        const got = parseGenerated((await chat.complete(req)).text);
        if (got) return got;
        stats.malformed++;
      }
      stats.failedPassages++;
      return null;
    }),
  );
  const seen = new Set<string>();
  const prompts: FamiliarityPrompt[] = [];
  answers.forEach((a, i) => {
    if (!a) return;
    stats.givenAway += a.givenAway;
    for (const p of a.prompts) {
      const key = p.prompt.replace(/\s+/g, " ").trim().toLowerCase();
      if (seen.has(key)) {
        stats.duplicates++;
        continue;
      }
      seen.add(key);
      prompts.push({ id: `f${String(prompts.length).padStart(4, "0")}`, prompt: p.prompt, references: p.references, subtlety: p.subtlety, source: passages[i].id });
    }
  });
  return { prompts, stats };
}

/**
 * A chat model whose answers are kept on disk under a hash of the canonical request and the attempt
 * number (the n-th identical request in this process is attempt n), so a crashed or repeated evaluation
 * pays for no call twice, and a re-ask after a malformed answer is a new call, not the cached one.
 *
 * On io/disk-cache.ts like the served models' caches: an entry that is torn, garbled, misplaced or not
 * an answer is counted in `corrupt`, warned about and asked again. The entries used to be bare JSON
 * answers without a checksum, `<dir>/<hash([request, attempt])>.json`; the key now starts with
 * CHAT_CACHE_VERSION so those old files are simply not read (asked again once), never taken for
 * corrupt ones.
 */
export class CachedChat implements ChatModel {
  private readonly attempts = new Map<string, number>();
  private readonly cache: DiskCache<unknown, ChatAnswer>;
  calls = 0;
  constructor(
    private readonly inner: ChatModel,
    dir: string,
    warn: (message: string) => void = createLogger().warn,
  ) {
    this.cache = new DiskCache(dir, jsonCodec<ChatAnswer>(), { label: "chat cache", warn });
  }

  get hits(): number {
    return this.cache.hits;
  }

  get corrupt(): number {
    return this.cache.corrupt;
  }

  complete(req: ChatRequest): Promise<ChatAnswer> {
    const base = hashJson(req);
    const attempt = this.attempts.get(base) ?? 0;
    this.attempts.set(base, attempt + 1);
    return this.cache.through(
      [CHAT_CACHE_VERSION, base, attempt],
      async () => {
        const answer = await this.inner.complete(req);
        this.calls++;
        return { text: answer.text, model: answer.model, finishReason: answer.finishReason };
      },
      (v) => cachedAnswerSchema.parse(v),
    );
  }
}

/** Part of every chat cache key: bump it when the entry format changes. */
export const CHAT_CACHE_VERSION = "chat-v2";

const cachedAnswerSchema = z.object({ text: z.string(), model: z.string(), finishReason: z.string().nullable() });

export interface JudgedCompletion {
  id: string;
  completion: string;
  score: JudgeScore | null;
}

/** Completes every familiarity prompt with the model (greedy: the sandbox's argmax, a server's
 * temperature 0) and judges each. */
export async function judgeCompletions(
  model: ScoringModel,
  prompts: readonly FamiliarityPrompt[],
  io: { encode: (text: string) => Promise<number[]>; prefix: readonly number[] },
  judging: { chat: ChatModel; template: EvalTemplate; cfg: LlmConfig; tries: number; completionTokens: number },
): Promise<{ judged: JudgedCompletion[]; malformed: number }> {
  const completions = await Promise.all(
    prompts.map(async (p) => ({ p, text: (await model.complete([...io.prefix, ...(await io.encode(p.prompt))], judging.completionTokens)).text })),
  );
  let malformed = 0;
  const judged = await Promise.all(
    completions.map(async ({ p, text }) => {
      const out = await judge(judging.chat, judgeRequest(judging.template, p, text, judging.cfg), judging.tries);
      malformed += out.malformed;
      return { id: p.id, completion: text, score: out.score };
    }),
  );
  return { judged, malformed };
}
