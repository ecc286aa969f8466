/**
 * `whp anchors extract` with a chat model: passages (or batches of terms to translate) -> one request
 * each -> raw answers file. Requests
 * already answered in the raw file are not sent again; a failed request (after the retry policy gave
 * up) is recorded and counted, and sent again by the next run.
 */
import { appendFileRedacted, writeJsonlAtomic } from "../io/artifacts.js";
import type { Logger } from "../io/log.js";
import type { ChatClient, ChatRequest } from "../llm/chat.js";
import { extractionRequest, requestHash, translationRequest, type PromptTemplate, type TermToTranslate } from "../llm/prompts.js";
import { parseAnswer } from "./parse.js";
import { RAW_VERSION, RawAnswerLog, readRawAnswers, setAsidePath, type RawAnswer } from "./raw.js";
import type { Passage } from "./sample.js";

export interface ExtractionStats {
  passages: number;
  sent: number;
  cached: number;
  failed: { passageId: string; error: string }[];
  /** Answers the server stopped early (finish_reason "length"): their complete pairs are still kept. */
  cutOff: number;
  proposals: number;
  /** Lines of the raw answers that were not a valid answer: warned about, their requests asked again. */
  corrupt: number;
}

export async function extractWithChat(opts: { client: ChatClient; template: PromptTemplate; passages: readonly Passage[]; rawPath: string; log: Logger }): Promise<ExtractionStats> {
  const jobs = opts.passages.map((p) => ({ id: p.id, req: extractionRequest(opts.template, p.text, opts.client.cfg) }));
  return runJobs({ ...opts, jobs });
}

/** Terms per translation request: small enough that an answer fits in maxTokens. */
export const TERMS_PER_REQUEST = 40;

/** Asks the model only for generic translations of terms found elsewhere (the offline extractor). */
export async function translateWithChat(opts: { client: ChatClient; template: PromptTemplate; terms: readonly TermToTranslate[]; rawPath: string; log: Logger }): Promise<ExtractionStats> {
  const jobs: { id: string; req: ChatRequest }[] = [];
  for (let i = 0; i < opts.terms.length; i += TERMS_PER_REQUEST) {
    jobs.push({ id: `terms#${String(i / TERMS_PER_REQUEST).padStart(4, "0")}`, req: translationRequest(opts.template, opts.terms.slice(i, i + TERMS_PER_REQUEST), opts.client.cfg) });
  }
  return runJobs({ ...opts, jobs });
}

async function runJobs(opts: { client: ChatClient; template: PromptTemplate; jobs: readonly { id: string; req: ChatRequest }[]; rawPath: string; log: Logger }): Promise<ExtractionStats> {
  const { client, template, jobs, rawPath, log } = opts;
  const cfg = client.cfg;
  const existing = await readRawAnswers(rawPath);
  // A crash mid-write leaves a torn last line: drop it so new lines are not glued onto it. A corrupt
  // line is the caches' corrupt entry (io/disk-cache.ts): counted, warned about, its request asked again.
  for (const c of existing.corrupt) log.warn(`anchors extract: ${c}; the line is moved to ${setAsidePath(rawPath)} and its request asked again`);
  if (existing.corruptLines.length) await appendFileRedacted(setAsidePath(rawPath), existing.corruptLines.map((l) => `${l}\n`).join(""));
  if (existing.tornLastLine || existing.corrupt.length) await writeJsonlAtomic(rawPath, existing.answers);
  const done = new Set(existing.answers.map((a) => a.requestHash));
  const rawLog = new RawAnswerLog(rawPath);
  const stats: ExtractionStats = { passages: jobs.length, sent: 0, cached: 0, failed: [], cutOff: 0, proposals: 0, corrupt: existing.corrupt.length };
  const source = `llm:${cfg.model ?? cfg.baseUrl ?? cfg.provider}`;
  // All requests are handed to the client at once: its per-endpoint p-limit decides how many run.
  await Promise.all(
    jobs.map(async (p) => {
      const req = p.req;
      const hash = requestHash(cfg.provider, req);
      if (done.has(hash)) {
        stats.cached++;
        return;
      }
      try {
        const answer = await client.complete(req);
        stats.sent++;
        if (answer.finishReason === "length") stats.cutOff++;
        const format = req.jsonSchema ? "anchors" : "any";
        stats.proposals += parseAnswer(answer.text, format).proposals.length;
        const line: RawAnswer = { version: RAW_VERSION, passageId: p.id, requestHash: hash, promptHash: template.hash, model: req.model, answeredBy: answer.model, source, finishReason: answer.finishReason, format, text: answer.text };
        await rawLog.append(line);
        done.add(hash);
      } catch (e) {
        const error = (e as Error).message.split("\n")[0].slice(0, 300);
        stats.failed.push({ passageId: p.id, error });
        log.warn(`anchors extract: ${p.id} failed: ${error}`);
      }
    }),
  );
  // Reading order, so the same answers give the same file whatever order the calls finished in.
  const all = await readRawAnswers(rawPath);
  await writeJsonlAtomic(rawPath, sortAnswers(all.answers));
  stats.failed.sort((a, b) => (a.passageId < b.passageId ? -1 : 1));
  return stats;
}

export function sortAnswers(answers: readonly RawAnswer[]): RawAnswer[] {
  const key = (a: RawAnswer) => `${a.passageId}\u0000${a.requestHash}`;
  return [...answers].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
