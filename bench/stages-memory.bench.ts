/**
 * Peak memory of every stage but labels, at two corpus sizes (issue 17, item 3: memory flat in corpus
 * size). A generated book-scale corpus (book-corpus.ts: documents the size of a novel, ~150k tokens
 * each, so a bigger corpus is more books, as a real one is) of about 1 M and 5 M tokens runs through
 * ingest, tokenize, dictionary, translate and export, each stage in a fresh child process
 * (stage-child.ts) so its peak RSS is its own. Targets: under 500 MB at 5 M tokens, and at most 1.3x
 * between 1 M and 5 M. The settings are the demo's (demo/whp.config.yaml: block size, seed, alphas,
 * export formats); the dictionary is the generated book's, every term approved.
 *
 * labels.jsonl is bench input, not the labels stage's output (running the embedded n-gram labels
 * stage at 5 M tokens would take most of the bench's time): each block's original next tokens as its
 * labels for every alpha, every 17th position masked, written by this file with a labels-meta.json
 * that names "bench-synthetic" as the models. Export reads these like any labels.
 *
 * Called by bench/run.ts (benchStagesMemory); `npx tsx bench/stages-memory.bench.ts` runs it alone and
 * exits 1 when a target is missed.
 */
import { spawn } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { once } from "node:events";
import { pathToFileURL } from "node:url";
import { parse, stringify } from "yaml";
import { loadConfig } from "../pipeline/config.js";
import { generateBookCorpus } from "./book-corpus.js";
import { pipelinePoolThreads } from "./pipeline-pool.js";

const ROOT = resolve(import.meta.dirname, "..");
const CHILD = join(import.meta.dirname, "stage-child.ts");
/** Characters of generated book text per demo-tokenizer token (bench/labels-inputs.ts measured 3.41). */
const CHARS_PER_TOKEN = 3.4;
const TOKENS_PER_BOOK = 150_000;
const SIZES = [1_000_000, 5_000_000] as const;
const STAGES = ["ingest", "tokenize", "dictionary", "translate", "export"] as const;
export const PEAK_TARGET_MB = 500;
export const GROWTH_TARGET = 1.3;

interface StageRun {
  maxRssMB: number;
  seconds: number;
}

/** A run folder for a corpus of about `tokens` tokens, with the demo's settings. */
export async function buildCorpus(root: string, tokens: number): Promise<string> {
  const dir = join(root, `${tokens}`);
  await mkdir(join(dir, "forget"), { recursive: true });
  await mkdir(join(dir, "general"), { recursive: true });
  const books = Math.max(1, Math.ceil(tokens / TOKENS_PER_BOOK));
  const book = generateBookCorpus({ chars: Math.ceil(tokens * CHARS_PER_TOKEN), terms: 1600, seed: 17, docs: books });
  for (const d of book.docs) await writeFile(join(dir, d.id), d.text);
  for (const f of await readdir(join(ROOT, "demo", "general"))) if (f.endsWith(".txt")) await copyFile(join(ROOT, "demo", "general", f), join(dir, "general", f));
  await copyFile(join(ROOT, "demo", "tokenizer.json"), join(dir, "tokenizer.json"));
  await writeFile(join(dir, "dictionary.csv"), book.csv.replace(/,pending$/gm, ",approved"));
  const demo = parse(await readFile(join(ROOT, "demo", "whp.config.yaml"), "utf8")) as Record<string, unknown>;
  const config = { ...demo, run: { name: `bench-${tokens}`, outDir: "run" }, corpus: { forget: ["forget"], general: ["general"] }, tokenizer: "tokenizer.json", dictionary: "dictionary.csv" };
  await writeFile(join(dir, "whp.config.yaml"), stringify(config));
  return dir;
}

/** Bench input standing in for the labels stage (see the header): streamed, one block at a time. */
export async function synthesizeLabels(runDir: string, alphas: readonly number[]): Promise<void> {
  const out = createWriteStream(join(runDir, "labels.jsonl"));
  const lines = createInterface({ input: createReadStream(join(runDir, "blocks.jsonl"), { encoding: "utf8" }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const block = JSON.parse(line) as { id: string; input_ids: number[] };
    const main = block.input_ids.map((id, t) => (t === 0 || t % 17 === 0 ? -100 : id));
    if (!out.write(`${JSON.stringify({ id: block.id, labels: alphas.map(() => main), uncertified: alphas.map(() => 0) })}\n`)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const synthetic = { provider: "bench-synthetic", note: "bench input: original next tokens, not model labels" };
  await writeFile(join(runDir, "labels-meta.json"), `${JSON.stringify({ version: 1, alphas, topK: 20, logitSpace: "logprobs", models: { baseline: synthetic, reinforced: synthetic } }, null, 2)}\n`);
  await writeFile(join(runDir, "labels-uncertainty.jsonl"), "");
}

/** Runs one stage in a fresh process (tsx's loader flags passed on from this one). */
function runChild(stage: string, config: string): Promise<StageRun> {
  return new Promise((res, rej) => {
    // The thread pool bin/whp.js gives every run (PIPELINE_POOL_THREADS unless set): the tokenizer's native memory depends on it.
    const child = spawn(process.execPath, [...process.execArgv, CHILD, stage, config], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, UV_THREADPOOL_SIZE: pipelinePoolThreads() } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", rej);
    child.on("close", (code) => {
      const last = stdout.trim().split("\n").pop() ?? "";
      if (code !== 0 || !last.startsWith("{")) return rej(new Error(`stage ${stage} exited ${code}: ${stderr.slice(-2000)}`));
      res(JSON.parse(last) as StageRun);
    });
  });
}

export async function benchStagesMemory(): Promise<{ ok: boolean }> {
  const root = await mkdtemp(join(tmpdir(), "whp-bench-stages-"));
  const results = new Map<string, StageRun[]>(STAGES.map((s) => [s, []]));
  try {
    for (const tokens of SIZES) {
      const dir = await buildCorpus(root, tokens);
      const config = join(dir, "whp.config.yaml");
      for (const stage of STAGES) {
        if (stage === "export") await synthesizeLabels(join(dir, "run"), (await loadConfig(config)).alphas);
        results.get(stage)?.push(await runChild(stage, config));
      }
      const blocks = (await readFile(join(dir, "run", "stats", "tokenize.json"), "utf8").then((t) => JSON.parse(t))) as { forget: { tokens: number; blocks: number } };
      console.log(`stages memory: corpus ${tokens.toLocaleString("en-US")} tokens asked, ${blocks.forget.tokens.toLocaleString("en-US")} tokenized in ${blocks.forget.blocks.toLocaleString("en-US")} blocks, ${Math.max(1, Math.ceil(tokens / TOKENS_PER_BOOK))} books`);
      // The smaller corpus is no longer needed: keep the disk to one corpus at a time.
      if (tokens !== SIZES[SIZES.length - 1]) await rm(dir, { recursive: true, force: true });
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  let ok = true;
  for (const stage of STAGES) {
    const [small, big] = results.get(stage) ?? [];
    const growth = big.maxRssMB / small.maxRssMB;
    const pass = big.maxRssMB < PEAK_TARGET_MB && small.maxRssMB < PEAK_TARGET_MB && growth <= GROWTH_TARGET;
    ok &&= pass;
    console.log(
      `stages memory: ${stage.padEnd(10)} peak RSS ${small.maxRssMB.toFixed(0)} MB at 1 M tokens (${small.seconds.toFixed(1)} s), ${big.maxRssMB.toFixed(0)} MB at 5 M (${big.seconds.toFixed(1)} s), 5M/1M ${growth.toFixed(2)}x (target < ${PEAK_TARGET_MB} MB and <= ${GROWTH_TARGET}x): ${pass ? "ok" : "MISSED"}`,
    );
  }
  return { ok };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { ok } = await benchStagesMemory();
  if (!ok) process.exitCode = 1;
}
