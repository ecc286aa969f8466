/**
 * Inputs for the real labels stage at a chosen corpus size (issue 17), built by the real earlier
 * stages (ingest, tokenize, dictionary, translate) on a generated book (book-corpus.ts) with the demo
 * tokenizer, so blocks.jsonl, aligned.jsonl and the rest are artifacts the stage accepts as they are.
 * The labels stage's models are vLLM servers at a URL given later (writeServedConfig): the URL is a
 * transport field, outside the stage's fingerprint, so one set of inputs serves every server.
 * Deterministic: the same options give the same artifacts.
 */
import { copyFile, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { loadConfig } from "../pipeline/config.js";
import { createLogger, memoryLogger, type Logger } from "../pipeline/io/log.js";
import { createContext, runStage, type StageContext } from "../pipeline/stage.js";
import { STAGES } from "../pipeline/stages/index.js";
import { generateBookCorpus } from "./book-corpus.js";

const ROOT = resolve(import.meta.dirname, "..");
/** Characters of generated book text per demo-tokenizer token (measured: 3.41; a little under, so a
 * corpus asked for N tokens holds at least about N). */
const CHARS_PER_TOKEN = 3.4;

export interface LabelsInputOptions {
  /** Tokens wanted in blocks.jsonl (approximate). */
  tokens: number;
  blockSize: number;
  topK: number | "full";
  chunkBlocks?: number;
  /** Dictionary rows of the generated book (its scale, issue 16: 1,600). */
  terms?: number;
  /** Documents the book is split into (default 7). */
  docs?: number;
  seed?: number;
}

export interface LabelsInputs {
  dir: string;
  /** Tokens in blocks.jsonl (original) and aligned.jsonl (translated). */
  original: number;
  translated: number;
  blocks: number;
  options: LabelsInputOptions;
}

function baseConfig(o: LabelsInputOptions, models: Record<string, unknown>) {
  return {
    version: 1,
    run: { name: "bench", outDir: "run" },
    corpus: { forget: ["forget"], general: ["general"] },
    tokenizer: "tokenizer.json",
    dictionary: "dictionary.csv",
    blockSize: o.blockSize,
    seed: o.seed ?? 17,
    alpha: 5,
    logits: { topK: o.topK, chunkBlocks: o.chunkBlocks ?? 8 },
    models,
  };
}

/** vLLM models for both roles. `urls` may name one server for both roles or one each. */
export function servedModels(urls: { baseline: string; reinforced: string }, opts: { concurrency?: number; topK: number | "full" }) {
  const spec = (role: "baseline" | "reinforced") => ({ provider: "vllm", model: role, urls: [urls[role]], concurrency: opts.concurrency ?? 16, maxLogprobs: opts.topK === "full" ? -1 : Math.max(20, opts.topK) });
  return { baseline: spec("baseline"), reinforced: spec("reinforced") };
}

/** Builds the run folder up to (not including) the labels stage. */
export async function buildLabelsInputs(o: LabelsInputOptions): Promise<LabelsInputs> {
  const dir = await mkdtemp(join(tmpdir(), "whp-bench-labels-"));
  await mkdir(join(dir, "forget"));
  await mkdir(join(dir, "general"));
  const chars = Math.ceil(o.tokens * CHARS_PER_TOKEN);
  const docs = o.docs ?? 7;
  const book = generateBookCorpus({ chars, terms: o.terms ?? 1600, seed: o.seed ?? 17, docs });
  // The generator writes whole paragraphs; a tiny corpus (full rows) is cut to size at a space.
  const cut = (t: string) => (t.length <= chars / docs ? t : t.slice(0, t.lastIndexOf(" ", Math.ceil(chars / docs))) + "\n");
  for (const d of book.docs) await writeFile(join(dir, d.id), cut(d.text));
  // The general corpus only feeds embedded models; served ones never read it, but the stage hashes it.
  await copyFile(join(ROOT, "demo", "general", "SOURCES.md"), join(dir, "general", "sources.txt"));
  await copyFile(join(ROOT, "demo", "tokenizer.json"), join(dir, "tokenizer.json"));
  // Every generated term approved, as after a review.
  await writeFile(join(dir, "dictionary.csv"), book.csv.replace(/,pending$/gm, ",approved"));
  await writeServedConfig(dir, o, { baseline: "http://127.0.0.1:9", reinforced: "http://127.0.0.1:9" });
  // The earlier stages' notes (anchors left untranslated, ...) are about the generated text: not shown.
  const ctx = await servedContext(dir, memoryLogger({ quiet: true }));
  for (const stage of STAGES) {
    if (stage.name === "labels") break;
    await runStage(stage, ctx);
  }
  const { readArtifact } = await import("../pipeline/schemas/registry.js");
  const blocks = await readArtifact(ctx, "blocks");
  const aligned = await readArtifact(ctx, "aligned");
  return {
    dir,
    original: blocks.reduce((n, b) => n + b.input_ids.length, 0),
    translated: aligned.reduce((n, a) => n + a.translated_ids.length, 0),
    blocks: blocks.length,
    options: o,
  };
}

/** Points the run's models at servers (a new config file; the inputs stay valid). */
export async function writeServedConfig(dir: string, o: LabelsInputOptions, urls: { baseline: string; reinforced: string }, concurrency?: number): Promise<string> {
  const path = join(dir, "whp.config.yaml");
  await writeFile(path, stringify(baseConfig(o, servedModels(urls, { concurrency, topK: o.topK }))));
  return path;
}

export async function servedContext(dir: string, log: Logger = createLogger({ quiet: true })): Promise<StageContext> {
  return createContext(await loadConfig(join(dir, "whp.config.yaml")), log);
}
