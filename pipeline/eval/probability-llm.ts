/**
 * Probability prompts written by an LLM (optional; the mined ones stay the default). The chat model
 * gets a forget passage and the dictionary terms in it (prompts/probability-generate.txt) and writes
 * short texts that end right before a term. Everything after the answer is deterministic and done
 * here: the term must be a dictionary term, the text must not contain it, and the tagged token is the
 * first token the evaluated tokenizer gives the term right after the text (dropped when the
 * tokenization of text + term does not start with that of the text, or when a generic translation
 * starts with the same token: then it is not forget-specific, as for mined prompts).
 */
import { z } from "zod";
import type { LlmConfig } from "../llm/config.js";
import { structuredOutput } from "../llm/structured-output.js";
import type { ChatModel, EvalTemplate } from "./judge.js";
import { request } from "./judge.js";
import { neutraliseDelimiters } from "../llm/template.js";
import { forgetTag, tokenAfter } from "./next-token.js";

const answerSchema = z.object({ prompts: z.array(z.object({ prompt: z.string().min(1), term: z.string().min(1) })) });
const ANSWER_SCHEMA = structuredOutput("probability_prompts", answerSchema);
export type WrittenPrompt = z.infer<typeof answerSchema>["prompts"][number];

/** The prompts in an answer, or null when it is not JSON in the asked shape (then it is asked again). */
export function parseProbabilityAnswer(answer: string): WrittenPrompt[] | null {
  const start = answer.indexOf("{");
  const end = answer.lastIndexOf("}");
  if (start < 0 || end < start) return null;
  try {
    const parsed = answerSchema.safeParse(JSON.parse(answer.slice(start, end + 1)));
    return parsed.success ? parsed.data.prompts : null;
  } catch {
    return null;
  }
}

export function probabilityRequest(t: EvalTemplate, passage: string, terms: readonly string[], count: number, cfg: LlmConfig) {
  return request(t, { passage: neutraliseDelimiters(passage), terms: neutraliseDelimiters(terms.join("\n")), count: String(count) }, cfg, ANSWER_SCHEMA, 4096);
}

export interface WrittenStats {
  passages: number;
  failedPassages: number;
  malformed: number;
  written: number;
  unknownTerm: number;
  givenAway: number;
  /** Tokenization of text + term does not start with the tokenization of the text. */
  boundaryMismatch: number;
  sharedFirstToken: number;
  duplicates: number;
  kept: number;
}

/** Asks for prompts for each passage (a malformed answer is asked again, up to `tries`; a passage
 * whose answers all stay malformed is counted as failed). Answers in passage order. */
export async function askProbabilityPrompts(
  chat: ChatModel,
  t: EvalTemplate,
  passages: readonly { id: string; text: string; terms: readonly string[] }[],
  opts: { perPassage: number; tries: number; cfg: LlmConfig },
): Promise<{ answers: { source: string; prompts: WrittenPrompt[] }[]; failedPassages: number; malformed: number }> {
  let malformed = 0;
  let failedPassages = 0;
  const answers = await Promise.all(
    passages.map(async (p) => {
      const req = probabilityRequest(t, p.text, p.terms, opts.perPassage, opts.cfg);
      for (let i = 0; i < opts.tries; i++) {
        const got = parseProbabilityAnswer((await chat.complete(req)).text);
        if (got) return { source: p.id, prompts: got };
        malformed++;
      }
      failedPassages++;
      return { source: p.id, prompts: [] };
    }),
  );
  return { answers, failedPassages, malformed };
}

export interface TaggedWrittenPrompt {
  id: string;
  origin: "llm";
  /** The passage the prompt was written from; position -1: not at a corpus position. */
  block: string;
  position: -1;
  context_ids: number[];
  tagged: number[];
  terms: string[];
  text: string;
}

/**
 * Tags written prompts with token ids: context = prefix + encode(text), tag = the first token of the
 * term after the text. Contexts already in `taken` (the mined prompts) or written twice are dropped
 * as duplicates. Ids "q0000"... in answer order.
 */
export async function tagWrittenPrompts(
  answers: readonly { source: string; prompts: readonly WrittenPrompt[] }[],
  dictionary: readonly { term: string; translations: readonly string[] }[],
  io: { encode: (text: string) => Promise<number[]>; prefix: readonly number[] },
  taken: ReadonlySet<string>,
): Promise<{ prompts: TaggedWrittenPrompt[]; stats: Omit<WrittenStats, "passages" | "failedPassages" | "malformed"> }> {
  const stats = { written: 0, unknownTerm: 0, givenAway: 0, boundaryMismatch: 0, sharedFirstToken: 0, duplicates: 0, kept: 0 };
  const byTerm = new Map(dictionary.map((e) => [e.term, e.translations]));
  const seen = new Set(taken);
  const prompts: TaggedWrittenPrompt[] = [];
  for (const a of answers) {
    for (const w of a.prompts) {
      stats.written++;
      const text = w.prompt.trimEnd();
      const translations = byTerm.get(w.term);
      if (!translations) {
        stats.unknownTerm++;
        continue;
      }
      if (text.includes(w.term)) {
        stats.givenAway++;
        continue;
      }
      const textIds = await io.encode(text);
      const tag = await forgetTag((word) => tokenAfter(io.encode, text, textIds, word), w.term, translations);
      if (tag === "boundary" || textIds.length === 0) {
        stats.boundaryMismatch++;
        continue;
      }
      if (tag === "shared") {
        stats.sharedFirstToken++;
        continue;
      }
      const context = [...io.prefix, ...textIds];
      const key = context.join(",");
      if (seen.has(key)) {
        stats.duplicates++;
        continue;
      }
      seen.add(key);
      prompts.push({ id: `q${String(prompts.length).padStart(4, "0")}`, origin: "llm", block: a.source, position: -1, context_ids: context, tagged: [tag], terms: [w.term], text });
    }
  }
  stats.kept = prompts.length;
  return { prompts, stats };
}
